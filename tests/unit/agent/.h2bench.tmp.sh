KT=$REPO/tests/unit/agent/kern_try
modprobe meshwg; modprobe wireguard
$KT gen 10000 /tmp/big.json; $KT gen 10000 /tmp/big1.json 1
python3 - <<'P'
import json, base64
for src, dst in (("/tmp/big.json", "/tmp/big.conf"), ("/tmp/big1.json", "/tmp/big1.conf")):
    d = json.load(open(src))
    with open(dst, "w") as f:
        f.write("[Interface]\nPrivateKey = %s\n" % base64.b64encode(bytes(range(1, 33))).decode())
        for p in d["peers"]:
            k = base64.b64encode(bytes.fromhex(p["node_key"][8:])).decode()
            f.write("[Peer]\nPublicKey = %s\nAllowedIPs = %s\nEndpoint = %s\n" % (k, ", ".join(p["addresses"]), p["endpoints"][0]))
P
for round in 1 2; do
ip link add wgb$round type wireguard
t0=$(date +%s%N); wg setconf wgb$round /tmp/big.conf; t1=$(date +%s%N)
echo "round $round wireguard.ko: wg setconf 10000 peers: $(( (t1 - t0) / 1000000 )) ms"
t0=$(date +%s%N); wg setconf wgb$round /tmp/big1.conf; t1=$(date +%s%N)
echo "round $round wireguard.ko: wg setconf again with 1 endpoint changed (full rewrite): $(( (t1 - t0) / 1000000 )) ms"
ip link del wgb$round
ip link add mwb$round type meshwg
t0=$(date +%s%N); meshwg wg setconf mwb$round /tmp/big.conf; t1=$(date +%s%N)
echo "round $round meshwg.ko: meshwg wg setconf 10000 peers: $(( (t1 - t0) / 1000000 )) ms"
ip link del mwb$round
$KT -i mwk$round up apply /tmp/big.json apply /tmp/big.json apply /tmp/big1.json 2>/dev/null | sed "s/^/round $round kern_try: /"
t0=$(date +%s%N); meshwg wg show mwk$round dump >/dev/null; t1=$(date +%s%N)
echo "round $round dump 10000: $(( (t1 - t0) / 1000000 )) ms"
$KT -i mwk$round up down >/dev/null 2>&1
done
rmmod meshwg wireguard
