package main

import (
	"fmt"
	"strings"
	"time"
)

const description = `transfer station for air-gapped networks
 Sluice is the transfer station at both ends of an air gap: it seals files
 for a receiving kiosk (signed, encrypted, hashed), writes them to USB
 drives or sends them through a data diode, and at the kiosk checks the
 sender, every hash and the content policy before releasing anything. Every
 step is kept in a signed, append-only custody log an auditor can verify.
 .
 One binary: the desktop app with no arguments, the command line (sluice
 help) for headless kiosks. The sluice-diode-receiver service, shipped
 disabled, runs a kiosk's diode receiver as the sluice system user.`

func desktopFile(fa fyneApp) []byte {
	return fmt.Appendf(nil, `[Desktop Entry]
Type=Application
Name=%s
GenericName=%s
Comment=%s
Exec=sluice
Icon=%s
Terminal=false
Categories=%s;
Keywords=%s;
`, fa.Details.Name, fa.LinuxAndBSD.GenericName, fa.LinuxAndBSD.Comment, fa.Details.ID,
		strings.Join(fa.LinuxAndBSD.Categories, ";"), strings.Join(fa.LinuxAndBSD.Keywords, ";"))
}

func metainfo(fa fyneApp, version string, date time.Time) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>%[1]s</id>
  <metadata_license>CC0-1.0</metadata_license>
  <name>%[2]s</name>
  <summary>%[3]s</summary>
  <description>
    <p>Sluice is the transfer station at both ends of an air gap. At the
    sending station an officer stages files, sees every hash, and seals them
    for one receiving kiosk: signed, encrypted, written to USB drives and
    read back, or sent through a data diode.</p>
    <p>At the kiosk Sluice checks the sender's signature before opening
    anything, verifies every file, applies the content policy and releases
    only what passed, with a second officer's approval where the policy
    requires it. A signed custody log records every step for auditors.</p>
  </description>
  <launchable type="desktop-id">%[1]s.desktop</launchable>
  <url type="homepage">%[4]s</url>
  <provides>
    <binary>sluice</binary>
  </provides>
  <releases>
    <release version="%[5]s" date="%[6]s"/>
  </releases>
  <content_rating type="oars-1.1"/>
</component>
`, fa.Details.ID, fa.Details.Name, fa.LinuxAndBSD.Comment, fa.Website, version, date.Format(time.DateOnly))
}

// changelog is the native package's Debian changelog: one entry per
// version, dated like the build.
func changelog(version string, date time.Time) []byte {
	return fmt.Appendf(nil, `sluice (%s) unstable; urgency=medium

  * Sluice %s; what changed is in the source's git history.

 -- %s  %s
`, version, version, maintainer, date.Format(time.RFC1123Z))
}

const copyright = `Sluice, a transfer station for air-gapped networks.

Copyright 2026 the Sluice authors.

No licence has been chosen for Sluice yet: until one is, all rights are
reserved by its authors.

The binary also contains Go modules under their own licences; the offline
build kit's sbom.cdx.json (CycloneDX) lists each with its licence.
`

// unit runs a headless kiosk's diode receiver as the sluice system user
// (made by postinst), with the station home and the inbox the only places
// it may write. It is not enabled on install: a technician first makes
// the station (sluice init, trust add), then sets the address in
// /etc/default/sluice-diode-receiver and enables it.
const unit = `[Unit]
Description=Sluice data-diode receiver (headless kiosk)
Documentation=man:sluice(1)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User=sluice
Group=sluice
Environment=SLUICE_HOME=/var/lib/sluice/home
Environment=SLUICE_LISTEN=
Environment=SLUICE_RECEIVE_ARGS=
EnvironmentFile=-/etc/default/sluice-diode-receiver
ExecStart=/usr/bin/sluice diode receive --listen ${SLUICE_LISTEN} --inbox /var/lib/sluice/inbox $SLUICE_RECEIVE_ARGS
Restart=on-failure
RestartSec=5s
UMask=0077

# Hardening: the receiver parses what arrives from the other side.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/sluice/home /var/lib/sluice/inbox /var/lib/sluice/released
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
CapabilityBoundingSet=

[Install]
WantedBy=multi-user.target
`

const unitDefaults = `# Settings of sluice-diode-receiver.service (disabled until you enable it).
#
# Before enabling it, make the kiosk's station as the sluice user:
#   sudo -u sluice SLUICE_HOME=/var/lib/sluice/home sluice init --name KIOSK
#   sudo -u sluice SLUICE_HOME=/var/lib/sluice/home sluice trust add SENDER.card
# then set the address below and run:
#   systemctl enable --now sluice-diode-receiver
#
# The local HOST:PORT the diode delivers to (required).
SLUICE_LISTEN=
# More arguments to sluice diode receive. --out releases each bundle that
# arrives whole, after every check of sluice receive, into the folder; the
# service may write only there, in the inbox and in the station home (add
# a ReadWritePaths= drop-in to release elsewhere).
SLUICE_RECEIVE_ARGS="--out /var/lib/sluice/released"
`

// postinstScript makes the receiver's system user and its folders; it
// never enables or starts the service.
const postinstScript = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
	if ! getent passwd sluice >/dev/null; then
		adduser --system --group --home /var/lib/sluice --no-create-home --quiet sluice
	fi
	for d in /var/lib/sluice /var/lib/sluice/home /var/lib/sluice/inbox /var/lib/sluice/released; do
		[ -d "$d" ] || install -d -o sluice -g sluice -m 0700 "$d"
	done
fi
exit 0
`
