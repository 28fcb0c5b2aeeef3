#!/bin/sh
# meshwg wg genkey | meshwg wg pubkey must agree with wg(8) on the same keys.
# Usage: pubkey.sh path/to/meshwg
set -u
MESHWG=${1:?usage: pubkey.sh path/to/meshwg}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

command -v wg >/dev/null 2>&1 || { echo "wg(8) not installed (wireguard-tools)" >&2; echo "0 passed, 1 failed"; exit 1; }

i=0
while [ $i -lt 20 ]; do
	priv=$("$MESHWG" wg genkey 2>/dev/null)
	ours=$(printf '%s\n' "$priv" | "$MESHWG" wg pubkey)
	theirs=$(printf '%s\n' "$priv" | wg pubkey)
	if [ -n "$ours" ] && [ "$ours" = "$theirs" ]; then ok; else ko "pubkey of $priv: $ours != $theirs"; fi
	# and the other way round: wg's keys through our pubkey
	priv=$(wg genkey)
	ours=$(printf '%s' "$priv" | "$MESHWG" wg pubkey)
	theirs=$(printf '%s' "$priv" | wg pubkey)
	if [ "$ours" = "$theirs" ]; then ok; else ko "pubkey of wg key $priv: $ours != $theirs"; fi
	i=$((i + 1))
done

# genkey output is clamped: wg pubkey of the clamped key equals ours even if
# the key is re-clamped, and the last byte has bit 6 set / bit 7 clear.
priv=$("$MESHWG" wg genkey 2>/dev/null)
last=$(printf '%s' "$priv" | base64 -d | od -An -tu1 -j31 -N1 | tr -d ' ')
first=$(printf '%s' "$priv" | base64 -d | od -An -tu1 -N1 | tr -d ' ')
if [ $((last & 192)) -eq 64 ] && [ $((first & 7)) -eq 0 ]; then ok; else ko "genkey not clamped: $priv"; fi

psk=$("$MESHWG" wg genpsk 2>/dev/null)
if [ ${#psk} -eq 44 ] && printf '%s' "$psk" | base64 -d 2>/dev/null | wc -c | grep -qx 32; then ok; else ko "genpsk: $psk"; fi
[ "$psk" != "$("$MESHWG" wg genpsk 2>/dev/null)" ] && ok || ko "genpsk repeats"

for bad in "" "abc" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= trailing"; do
	out=$(printf '%s\n' "$bad" | "$MESHWG" wg pubkey 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && echo "$out" | grep -q "Key is not the correct length or format"; then ok; else ko "pubkey accepted '$bad' (rc=$rc): $out"; fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
