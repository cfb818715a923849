# tests/host/seed-nocloud.py SEED_DIR OUT_DIR: read a NoCloud seed directory
# (the files of a CIDATA volume) with cloud-init's own code, as its NoCloud
# datasource does, validate user-data against cloud-init's schema, and render
# network-config with its systemd-networkd renderer into OUT_DIR. Prints
# "key: value" lines for the shell test to compare. Run with PYTHONPATH
# pointing at an unpacked cloud-init package.
import os
import sys

import yaml
from cloudinit import util
from cloudinit.config.schema import get_schema, validate_cloudconfig_schema
from cloudinit.net import network_state, networkd

# The renderer gives its files to the systemd-network user; only their
# content is checked here, and a machine without systemd has no such user.
util.chownbyname = lambda *args, **kwargs: None

seed, out = sys.argv[1], sys.argv[2]
md, ud, vd = util.read_seeded("file://" + seed.rstrip("/") + "/", timeout=0)
print("instance-id:", md.get("instance-id"))
print("local-hostname:", md.get("local-hostname"))
cfg = yaml.safe_load(ud)
validate_cloudconfig_schema(cfg, get_schema(), strict=True)
print("user-data: valid cloud-config")
print("ssh keys:", len(cfg.get("ssh_authorized_keys", [])))
path = os.path.join(seed, "network-config")
if os.path.exists(path):
    ns = network_state.parse_net_config_data(yaml.safe_load(open(path)))
    networkd.Renderer().render_network_state(ns, target=out)
    d = os.path.join(out, "etc/systemd/network")
    for name in sorted(os.listdir(d)):
        for line in open(os.path.join(d, name)):
            line = line.strip()
            if line and not line.startswith("["):
                print(name + ":", line)
