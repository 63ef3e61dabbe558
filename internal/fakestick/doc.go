// Package fakestick builds, for tests, block devices that lie the way
// cheap fake-capacity USB sticks do: they claim more than they keep, and
// an address past what they keep wraps around onto the start (it is taken
// modulo the real size), so a write there silently overwrites earlier data.
//
// The device is a device-mapper device of several linear segments mapped
// onto the same loop device where the kernel has device-mapper; otherwise
// (a kernel without it, as in some CI virtual machines) a loop device over
// a single-file FUSE filesystem whose file wraps around the same way. It
// is Linux only and needs root.
package fakestick
