#!/usr/bin/env bash
# virtio-vsock with a real guest (runs once svmm boots guests with PCI
# devices), through cloud-hypervisor's hybrid Unix sockets: guest -> host
# port 5000 lands on PATH_5000 (32 MiB, checksummed); host -> guest through
# "CONNECT 6000" on PATH, answered "OK <port>"; 256 guest connections open
# at once (counted on the host while they are); a stale socket file at PATH
# is replaced at start.
#
# The 256 connections come from one guest process (tests/guest/vsock-conns:
# non-blocking connects with a 30 s connect timeout). Forking a socat per
# connection, as this test first did, loaded the emulated guest so much
# that it handled svmm's answers seconds late: its connects (2 s default
# timeout) gave up after svmm had answered within 40 ms (traced), and the
# guest reset the answered connections; socat applies no socket option
# before connect, so that timeout could not be raised there.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

N=256
kernel=$(nd_kernel)
conns=$T_BUILD/tests/guest/vsock-conns
if [[ ! -x $conns ]]; then
	t_fail "the guest program is built" "missing $conns: run 'make'"
	t_done
	exit 1
fi
d=$(t_tmpdir)
sock=$d/v.sock
head -c $((32 << 20)) /dev/urandom >"$d/h2g"
sum_h2g=$(sha256sum <"$d/h2g" | cut -d' ' -f1)

cat >"$d/check.sh" <<GUEST
head -c \$((32 << 20)) /dev/urandom >/tmp/g2h
echo "SVMM-FACT sum_g2h=\$(sha256sum </tmp/g2h | cut -d' ' -f1)"
socat -u OPEN:/tmp/g2h VSOCK-CONNECT:2:5000 && echo "SVMM-FACT sent_g2h=ok"
rm /tmp/g2h
mkfifo /tmp/release
vsock-conns 2 5001 $N /tmp/release &
conns=\$!
socat -u VSOCK-LISTEN:6000 OPEN:/tmp/h2g,creat,trunc &
lis=\$!
sleep 0.5
echo "SVMM-FACT listening=1"
wait \$lis
echo "SVMM-FACT sum_h2g=\$(sha256sum </tmp/h2g | cut -d' ' -f1)"
timeout 60 sh -c 'echo >/tmp/release' # lets vsock-conns close them all
wait \$conns
echo "SVMM-FACT conns_status=\$?"
GUEST
nd_initramfs "$d/initrd" "$d/check.sh" socat "$conns" 2>/dev/null

# a socket file left behind by a killed VMM
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$sock"
socat -u UNIX-LISTEN:"${sock}_5000" OPEN:"$d/g2h",creat,trunc &
sink=$!
# PATH_5001: one process accepts them all and logs each connection's line
python3 - "${sock}_5001" "$d/many" <<'PY' &
import selectors, socket, sys
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
srv.listen(1024)
srv.setblocking(False)
sel = selectors.DefaultSelector()
sel.register(srv, selectors.EVENT_READ)
out = open(sys.argv[2], "a", buffering=1)
bufs = {}
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if s is srv:
            try:
                while True:
                    c, _ = srv.accept()
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ)
                    bufs[c] = b""
            except BlockingIOError:
                pass
            continue
        try:
            data = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            s.close()
            del bufs[s]
            continue
        bufs[s] += data
        while b"\n" in bufs[s]:
            line, bufs[s] = bufs[s].split(b"\n", 1)
            out.write(line.decode(errors="replace") + "\n")
PY
many=$!
t_cleanup "kill $sink $many"
timeout -k 5 600 "$T_SVMM" run --kernel "$kernel" --initramfs "$d/initrd" --cmdline "$ND_CMDLINE" \
	--memory size=512M --serial "file=$d/console.log" --vsock "cid=5,socket=$sock" >"$d/out" 2>&1 &
vmm=$!
t_cleanup "kill -9 $vmm"
if nd_wait_fact "$d/console.log" listening 180 >/dev/null; then
	for ((w = 0; w < 240; w++)); do
		(($(sort -u "$d/many" 2>/dev/null | grep -c '^conn ') >= N)) && break
		sleep 1
	done
	# the host ends of PATH_5001 connections, open now
	open_now=$(ss -xH state connected | grep -cF "${sock}_5001 ")
	t_eq "$N guest connections open at once, seen on the host" "$N" "$open_now"
	{ printf 'CONNECT 6000\n'; cat "$d/h2g"; } | socat -t 30 - UNIX-CONNECT:"$sock" >"$d/reply"
	t_match "host CONNECT answered OK <port>" '^OK [0-9]+$' "$(head -n1 "$d/reply")"
else
	t_fail "guest reached its listener" "console: $(tail -c 2000 "$d/console.log" 2>/dev/null)"
fi
wait "$vmm"
t_eq "svmm exits 0 at guest power-off" 0 "$?"
log=$d/console.log
t_eq "guest connected to PATH_5000 and sent" ok "$(nd_fact "$log" sent_g2h)"
wait "$sink"
t_eq "guest -> host data intact" "$(nd_fact "$log" sum_g2h)" "$(sha256sum <"$d/g2h" | cut -d' ' -f1)"
t_eq "the guest opened all $N connections" "$N" "$(nd_fact "$log" conns_open)"
t_eq "each of the $N was heard on the host" "$N" "$(sort -u "$d/many" | grep -c '^conn ')"
echo "# guest connects tried again: $(nd_fact "$log" conns_retries)"
t_eq "the connections closed cleanly" 0 "$(nd_fact "$log" conns_status)"
t_eq "host -> guest data intact" "$sum_h2g" "$(nd_fact "$log" sum_h2g)"
t_ok "the socket file is removed at exit" test ! -e "$sock"
t_done
