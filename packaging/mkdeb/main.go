// Command mkdeb builds Sluice's Debian package from a binary built by
// `make build`: `make package` runs it. It uses nfpm as a library rather
// than `fyne package`, which rewrites FyneApp.toml on every run and so
// cannot give a reproducible package from a clean tree.
//
// The package holds the binary; a .desktop file, AppStream metadata and
// the icon in the hicolor sizes, all named by FyneApp.toml's ID; sluice(1),
// rendered from the CLI's own help (cli.WriteManual); a systemd unit for a
// headless kiosk's diode receiver, shipped disabled; and Depends computed
// from what the binary links (dpkg-shlibdeps) and what GLFW opens at run
// time.
//
// Every member is dated SOURCE_DATE_EPOCH (required: make package sets it
// from the last commit), the icons and gzip streams are encoded without
// timestamps, and nfpm writes the members in a fixed order, so the same
// binary gives the same .deb byte for byte (packaging/repro.sh checks it).
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	"golang.org/x/image/draw"

	"sluice/cli"
)

const (
	pkgName    = "sluice"
	maintainer = "Sluice maintainers <sluice@example.invalid>"
	unitName   = "sluice-diode-receiver.service"
)

// iconSizes are the hicolor sizes the desktops look up.
var iconSizes = []int{16, 24, 32, 48, 64, 128, 256, 512}

// dlopened are the libraries GLFW's X11 backend opens with dlopen at run
// time (go-gl/glfw src/x11_init.c), which dpkg-shlibdeps cannot see: the
// window lacks cursors, monitors, input or full screen without them.
var dlopened = []string{"libXcursor.so.1", "libXrandr.so.2", "libXinerama.so.1", "libXi.so.6", "libXxf86vm.so.1", "libX11-xcb.so.1", "libXrender.so.1"}

// recommends are what the station uses when it is there: clamd for the
// kiosk's malware scan, mutool for PDFs, udisks2 to mount and eject
// drives as an unprivileged user, bubblewrap to confine checkers.
var recommends = []string{"clamav-daemon", "mupdf-tools", "udisks2", "bubblewrap"}

// suggests are what a site's policy may call for: LibreOffice to rebuild
// office documents, pdftoppm when mutool is missing, tesseract for the
// optional OCR text layer (transform.ocr).
var suggests = []string{"libreoffice-writer-nogui", "libreoffice-calc-nogui", "libreoffice-impress-nogui", "poppler-utils", "tesseract-ocr", "tesseract-ocr-eng"}

type fyneApp struct {
	Website string
	Details struct {
		Icon, Name, ID, Version string
	}
	LinuxAndBSD struct {
		GenericName, Comment string
		Categories, Keywords []string
	}
}

func main() {
	bin := flag.String("bin", "sluice", "the `BINARY` to package, built by make build")
	version := flag.String("version", "", "the package `VERSION` (the VERSION file)")
	out := flag.String("out", "dist", "`DIR` to write sluice_VERSION_ARCH.deb into")
	arch := flag.String("arch", debArch(runtime.GOARCH), "Debian `ARCH`itecture of the binary")
	src := flag.String("src", ".", "the source tree's `DIR` (FyneApp.toml, assets/)")
	flag.Parse()
	path, err := build(*bin, *version, *arch, *src, *out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

func debArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	}
	return goarch
}

func build(bin, version, arch, src, outDir string) (string, error) {
	if version == "" {
		return "", errors.New("no -version given; run make package, which passes the VERSION file")
	}
	epoch, err := sourceDate()
	if err != nil {
		return "", err
	}
	var fa fyneApp
	if _, err := toml.DecodeFile(filepath.Join(src, "FyneApp.toml"), &fa); err != nil {
		return "", fmt.Errorf("read FyneApp.toml: %w", err)
	}
	if fa.Details.Version != version {
		return "", fmt.Errorf("FyneApp.toml says version %s but VERSION says %s; make them agree", fa.Details.Version, version)
	}
	stage, err := os.MkdirTemp("", "mkdeb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)

	var contents files.Contents
	add := func(dst string, data []byte, mode os.FileMode, typ string) error {
		name := filepath.Join(stage, strings.NewReplacer("/", "_").Replace(strings.TrimPrefix(dst, "/")))
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return err
		}
		contents = append(contents, &files.Content{Source: name, Destination: dst, Type: typ,
			FileInfo: &files.ContentFileInfo{Mode: mode, MTime: epoch, Owner: "root", Group: "root"}})
		return nil
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		return "", fmt.Errorf("read the binary: %w (run make build first)", err)
	}
	id := fa.Details.ID
	doc := "/usr/share/doc/" + pkgName + "/"
	steps := []struct {
		dst  string
		data func() ([]byte, error)
		mode os.FileMode
		typ  string
	}{
		{"/usr/bin/sluice", func() ([]byte, error) { return binData, nil }, 0o755, ""},
		{"/usr/share/applications/" + id + ".desktop", func() ([]byte, error) { return desktopFile(fa), nil }, 0o644, ""},
		{"/usr/share/metainfo/" + id + ".metainfo.xml", func() ([]byte, error) { return metainfo(fa, version, epoch), nil }, 0o644, ""},
		{"/usr/share/icons/hicolor/scalable/apps/" + id + ".svg", func() ([]byte, error) {
			return os.ReadFile(filepath.Join(src, "assets", "icon.svg"))
		}, 0o644, ""},
		{"/usr/share/man/man1/sluice.1.gz", func() ([]byte, error) {
			var b bytes.Buffer
			if err := cli.WriteManual(&b, version, epoch.Format(time.DateOnly)); err != nil {
				return nil, err
			}
			return gz(b.Bytes())
		}, 0o644, ""},
		{doc + "changelog.gz", func() ([]byte, error) { return gz(changelog(version, epoch)) }, 0o644, ""},
		{doc + "copyright", func() ([]byte, error) { return []byte(copyright), nil }, 0o644, ""},
		{"/lib/systemd/system/" + unitName, func() ([]byte, error) { return []byte(unit), nil }, 0o644, ""},
		{"/etc/default/sluice-diode-receiver", func() ([]byte, error) { return []byte(unitDefaults), nil }, 0o644, files.TypeConfig},
	}
	for _, s := range steps {
		data, err := s.data()
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.dst, err)
		}
		if err := add(s.dst, data, s.mode, s.typ); err != nil {
			return "", err
		}
	}
	icons, err := scaleIcons(filepath.Join(src, fa.Details.Icon))
	if err != nil {
		return "", err
	}
	for _, size := range iconSizes {
		if err := add(fmt.Sprintf("/usr/share/icons/hicolor/%dx%d/apps/%s.png", size, size, id), icons[size], 0o644, ""); err != nil {
			return "", err
		}
	}
	postinst := filepath.Join(stage, "postinst")
	if err := os.WriteFile(postinst, []byte(postinstScript), 0o755); err != nil {
		return "", err
	}

	depends, err := dependsOf(bin)
	if err != nil {
		return "", err
	}
	info := &nfpm.Info{
		Name:        pkgName,
		Arch:        arch,
		Platform:    "linux",
		Version:     version,
		Section:     "utils",
		Priority:    "optional",
		Maintainer:  maintainer,
		Description: description,
		Homepage:    fa.Website,
		MTime:       epoch,
		Overridables: nfpm.Overridables{
			Depends:    depends,
			Recommends: recommends,
			Suggests:   suggests,
			Contents:   contents,
			Scripts:    nfpm.Scripts{PostInstall: postinst},
			Deb:        nfpm.Deb{Compression: "xz"},
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("prepare the package: %w", err)
	}
	if err := nfpm.Validate(info); err != nil {
		return "", fmt.Errorf("the package: %w", err)
	}
	pkgr, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	target := filepath.Join(outDir, fmt.Sprintf("%s_%s_%s.deb", pkgName, version, arch))
	tmp, err := os.CreateTemp(outDir, ".mkdeb-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := pkgr.Package(info, tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write the package: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return target, os.Rename(tmp.Name(), target)
}

// sourceDate is SOURCE_DATE_EPOCH, the date of every member.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, errors.New("SOURCE_DATE_EPOCH is not set; run make package, which takes it from the last commit")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// gz compresses without a name or date, so the bytes depend on data alone.
func gz(data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// scaleIcons scales the icon to every hicolor size with Catmull-Rom.
func scaleIcons(path string) (map[int][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the icon: %w", err)
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode the icon %s: %w", path, err)
	}
	out := map[int][]byte{}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	for _, size := range iconSizes {
		dst := image.NewNRGBA(image.Rect(0, 0, size, size))
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
		var b bytes.Buffer
		if err := enc.Encode(&b, dst); err != nil {
			return nil, err
		}
		out[size] = b.Bytes()
	}
	return out, nil
}

// dependsOf is what the binary needs at run time: the packages of the
// libraries it links, with the versions their symbols need
// (dpkg-shlibdeps), and the packages of the libraries GLFW opens itself.
func dependsOf(bin string) ([]string, error) {
	dir, err := os.MkdirTemp("", "mkdeb-shlibdeps-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// dpkg-shlibdeps reads debian/control to know which package it works for.
	if err := os.MkdirAll(filepath.Join(dir, "debian"), 0o755); err != nil {
		return nil, err
	}
	control := "Source: sluice\n\nPackage: sluice\nArchitecture: any\n"
	if err := os.WriteFile(filepath.Join(dir, "debian", "control"), []byte(control), 0o644); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("dpkg-shlibdeps", "-O", "-e", abs)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-shlibdeps (from dpkg-dev; packaging/deps.sh package installs it): %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	line := strings.TrimSpace(string(outb))
	_, list, ok := strings.Cut(line, "shlibs:Depends=")
	if !ok {
		return nil, fmt.Errorf("dpkg-shlibdeps said %q, not shlibs:Depends=", line)
	}
	seen := map[string]bool{}
	var deps []string
	for _, d := range strings.Split(list, ",") {
		d = strings.TrimSpace(d)
		seen[strings.Fields(d)[0]] = true
		deps = append(deps, d)
	}
	for _, lib := range dlopened {
		p, err := packageOf(lib)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			deps = append(deps, p)
		}
	}
	// The diode receiver's service runs as its own system user.
	return append(deps, "adduser"), nil
}

// packageOf names the installed package that ships a shared library.
func packageOf(soname string) (string, error) {
	out, err := exec.Command("dpkg-query", "-S", "*/"+soname).Output()
	if err != nil {
		return "", fmt.Errorf("no installed package ships %s, which the desktop app opens at run time; run packaging/deps.sh package", soname)
	}
	for _, l := range strings.Split(string(out), "\n") {
		pkg, _, ok := strings.Cut(l, ": ")
		if !ok || strings.Contains(pkg, ",") {
			continue
		}
		pkg, _, _ = strings.Cut(pkg, ":") // drop :amd64
		if !strings.HasSuffix(pkg, "-dev") {
			return pkg, nil
		}
	}
	return "", fmt.Errorf("dpkg-query -S %s named no runtime package: %q", soname, out)
}
