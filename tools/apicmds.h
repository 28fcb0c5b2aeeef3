/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* The verbs that talk to meshwgd over its local API (apiclient.h). */
#ifndef MESHWG_APICMDS_H
#define MESHWG_APICMDS_H

int up_main(int argc, char *argv[]);
int down_main(int argc, char *argv[]);
int logout_main(int argc, char *argv[]);
int status_main(int argc, char *argv[]);
int ip_main(int argc, char *argv[]);
int whois_main(int argc, char *argv[]);

#endif
