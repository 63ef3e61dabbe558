package media

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// udisks2 is the desktop's disk service. Where it runs, Sluice mounts,
// unmounts and powers off drives through it, as the file manager does:
// it knows about the drive's other partitions and users, and it powers
// the drive down so it can be pulled safely. Where it does not run (a
// minimal kiosk), plain mount and umount do.
const (
	udisksName    = "org.freedesktop.UDisks2"
	udisksManager = "/org/freedesktop/UDisks2/Manager"
	udisksTimeout = 30 * time.Second
)

// errNoUdisks: the udisks2 service is not reachable, or does not know the
// device; the caller falls back to plain system calls.
var errNoUdisks = errors.New("udisks2 is not available")

// udisks is a connection to the udisks2 service on the system bus.
type udisks struct{ conn *dbus.Conn }

// connectUdisks connects to udisks2, or returns errNoUdisks when there is
// no system bus or no udisks2 on it.
func connectUdisks() (*udisks, error) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, errNoUdisks
	}
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, udisksName).Store(&has); err != nil || !has {
		// Not running: do not start it through bus activation either; a
		// kiosk without it is configured that way on purpose.
		conn.Close()
		return nil, errNoUdisks
	}
	return &udisks{conn: conn}, nil
}

func (u *udisks) close() { u.conn.Close() }

// block finds udisks2's object for a device node such as /dev/sdb1.
func (u *udisks) block(dev string) (dbus.BusObject, error) {
	var paths []dbus.ObjectPath
	call := u.conn.Object(udisksName, udisksManager).Call(udisksName+".Manager.ResolveDevice", 0,
		map[string]dbus.Variant{"path": dbus.MakeVariant(dev)}, map[string]dbus.Variant{})
	if call.Err != nil || call.Store(&paths) != nil || len(paths) == 0 {
		return nil, errNoUdisks
	}
	return u.conn.Object(udisksName, paths[0]), nil
}

func (u *udisks) call(obj dbus.BusObject, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(context.Background(), udisksTimeout)
	defer cancel()
	return obj.CallWithContext(ctx, method, 0, args...)
}

// unmount unmounts dev and, when its drive can be powered off, powers it
// off. It says which was done.
func (u *udisks) unmount(dev string) (string, error) {
	blk, err := u.block(dev)
	if err != nil {
		return "", err
	}
	if c := u.call(blk, udisksName+".Filesystem.Unmount", map[string]dbus.Variant{}); c.Err != nil {
		return "", fmt.Errorf("udisks2 could not unmount %s: %w", dev, c.Err)
	}
	drivePath, err := blk.GetProperty(udisksName + ".Block.Drive")
	path, _ := drivePath.Value().(dbus.ObjectPath)
	if err != nil || path == "/" || path == "" {
		return "unmounted through udisks2", nil // a loop device has no drive
	}
	drive := u.conn.Object(udisksName, path)
	can, err := drive.GetProperty(udisksName + ".Drive.CanPowerOff")
	if ok, _ := can.Value().(bool); err != nil || !ok {
		return "unmounted through udisks2 (this drive cannot be powered off)", nil
	}
	if c := u.call(drive, udisksName+".Drive.PowerOff", map[string]dbus.Variant{}); c.Err != nil {
		return "unmounted through udisks2; powering it off failed (" + c.Err.Error() + ")", nil
	}
	return "unmounted and powered off through udisks2", nil
}

// mount mounts dev where udisks2 chooses (/media/USER/LABEL) and returns
// the mount point.
func (u *udisks) mount(dev string) (string, error) {
	blk, err := u.block(dev)
	if err != nil {
		return "", err
	}
	var point string
	c := u.call(blk, udisksName+".Filesystem.Mount", map[string]dbus.Variant{})
	if c.Err != nil {
		return "", fmt.Errorf("udisks2 could not mount %s: %w", dev, c.Err)
	}
	if err := c.Store(&point); err != nil {
		return "", fmt.Errorf("udisks2 mount of %s: %w", dev, err)
	}
	return point, nil
}
