package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sluice/internal/safetext"
)

// lastFolders remembers, per screen and purpose ("stage", "bundle",
// "export"…), the folder a file dialog was last used in, so each one opens
// where that screen left off and never in another station's folder.
var lastFolders sync.Map

func startIn(d interface{ SetLocation(fyne.ListableURI) }, key string) {
	dir, ok := lastFolders.Load(key)
	if !ok {
		return
	}
	if l, err := storage.ListerForURI(storage.NewFileURI(dir.(string))); err == nil {
		d.SetLocation(l)
	}
}

func remember(key, path string) {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		lastFolders.Store(key, path)
	} else {
		lastFolders.Store(key, filepath.Dir(path))
	}
}

// viaPortal shows the desktop's own file chooser when xdg-desktop-portal
// runs (it has a path field and multiple selection) and reports whether it
// did; the paths chosen reach fn on the UI thread.
func viaPortal(w fyne.Window, title, key string, folders, multiple bool, fn func(paths []string)) bool {
	if !portalAvailable() {
		return false
	}
	start := ""
	if dir, ok := lastFolders.Load(key); ok {
		start = dir.(string)
	}
	go func() {
		paths, err := portalPick(title, folders, multiple, start)
		onUI(func() {
			if err != nil {
				showError(fmt.Errorf("the desktop's file chooser: %w", err), w)
				return
			}
			if len(paths) > 0 {
				remember(key, paths[0])
				fn(paths)
			}
		})
	}()
	return true
}

// pickFolder shows the folder dialog, opening where the last one for key
// was left, and hands the chosen path to fn.
func pickFolderFor(w fyne.Window, key string, fn func(path string)) {
	if viaPortal(w, "Choose a folder", key, true, false, func(ps []string) { fn(ps[0]) }) {
		return
	}
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err == nil && u != nil {
			remember(key, u.Path())
			fn(u.Path())
		}
	}, w)
	startIn(d, key)
	d.Resize(dialogSize(w))
	d.Show()
}

// pickFolder is pickFolderFor with one memory for the window.
func pickFolder(w fyne.Window, fn func(path string)) { pickFolderFor(w, "folder", fn) }

// pickFile shows the file dialog for key and hands the chosen path to fn.
func pickFile(w fyne.Window, key string, fn func(path string)) {
	if viaPortal(w, "Choose a file", key, false, false, func(ps []string) { fn(ps[0]) }) {
		return
	}
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		remember(key, r.URI().Path())
		fn(r.URI().Path())
	}, w)
	startIn(d, key)
	d.Resize(dialogSize(w))
	d.Show()
}

// pickFiles is pickFile choosing several files at once where the
// desktop's chooser runs (Fyne's dialog takes one at a time).
func pickFiles(w fyne.Window, key string, fn func(paths []string)) {
	if viaPortal(w, "Choose files", key, false, true, fn) {
		return
	}
	pickFile(w, key, func(p string) { fn([]string{p}) })
}

// dialogSize is a file dialog as large as the window allows: Fyne's
// default shows about four rows.
func dialogSize(w fyne.Window) fyne.Size {
	s := w.Canvas().Size()
	return fyne.NewSize(max(480, s.Width*0.85), max(360, s.Height*0.85))
}

// askSavePath asks where to save something as a typed path (prefilled with
// suggested) or a folder chosen with Browse…, then calls save with the full
// path. Errors are shown; success is told in one line.
func askSavePath(w fyne.Window, title, key, suggested string, extra []*widget.FormItem, save func(path string) (string, error)) {
	if dir, ok := lastFolders.Load(key); ok {
		suggested = filepath.Join(dir.(string), filepath.Base(suggested))
	}
	path := widget.NewEntry()
	path.SetText(suggested)
	browse := widget.NewButtonWithIcon("Folder…", theme.FolderOpenIcon(), func() {
		pickFolderFor(w, key, func(dir string) { path.SetText(filepath.Join(dir, filepath.Base(path.Text))) })
	})
	items := append(extra, widget.NewFormItem("Save as", container.NewBorder(nil, nil, nil, browse, path)))
	d := dialog.NewForm(title, "Save", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		p := strings.TrimSpace(path.Text)
		if p == "" {
			return
		}
		if !filepath.IsAbs(p) {
			home, _ := os.UserHomeDir()
			p = filepath.Join(home, p)
		}
		msg, err := save(p)
		if err != nil {
			showError(err, w)
			return
		}
		remember(key, filepath.Dir(p))
		dialog.ShowInformation(title, safetext.Line(msg), w)
	}, w)
	d.Resize(fyne.NewSize(min(640, w.Canvas().Size().Width*0.9), 0))
	d.Show()
}
