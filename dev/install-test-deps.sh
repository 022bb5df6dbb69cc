#!/bin/sh
# Installs the Debian packages the tests run for real (as root): ip (iproute2), udhcpc and
# dnsmasq for the network tests, openvpn for the VPN peer selection tunnel test. Does nothing
# when they are all there, so CI re-runs stay fast.
set -eu
missing=""
for tool in ip udhcpc dnsmasq openvpn; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] && exit 0
echo "install-test-deps: installing for:$missing" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iproute2 udhcpc dnsmasq-base openvpn
