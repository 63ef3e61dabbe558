// Package bundle reads and writes Sluice bundles: a signed cleartext envelope
// beside an age-encrypted payload split into volumes.
//
// # Layout
//
// A bundle is a directory named <id>.sluice holding:
//
//	envelope.json        cleartext: id, created, sender, recipients, counts, volumes
//	envelope.json.sig    OpenSSH signature of envelope.json (namespace sluice-envelope@sluice)
//	payload.age.0000 …   the age file, cut into volumes; cat them in order to rebuild it
//
// The decrypted payload is a PAX tar stream: every file and directory under
// data/, then sluice/manifest.json (path, type, mode, size and SHA-256 of every
// entry) and sluice/manifest.json.sig. docs/FORMAT.md gives the byte-level
// description and how to open a bundle with stock age and tar.
//
// # Trust
//
// [Open] parses the envelope but trusts nothing. [Bundle.VerifySignature]
// checks it against a key the caller trusts; only then should the caller
// decrypt with [Bundle.Extract], which writes only through an [os.Root] and
// checks every name, type, size and count before it writes a byte.
package bundle
