// Package crypto holds Sluice's key material and the primitives built on it:
// file hashing, station keys, public station cards and OpenSSH signatures.
//
// # Why these choices
//
// Encryption is age (filippo.io/age): a bundle's payload is a standard age
// file, so stock tools can open it in an emergency. Signatures are OpenSSH
// "SSHSIG" signatures over Ed25519 keys, so an auditor can check any envelope
// or manifest with ssh-keygen -Y verify, a tool they already have. Hashing is
// SHA-256, behind [NewHash] so the implementation can change in one place.
//
// This package knows nothing of bundles, files on media or the GUI.
package crypto
