package ui

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dustin/go-humanize"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/internal/safetext"
	"sluice/transfer/transform"
)

// The Send screen's view of transformations (issue 14): once the staged
// files are hashed and kiosks chosen, the files a kiosk's policy has this
// station transform are transformed in the background (app.TransformStaged),
// each row says how it will cross, and a selected transformed file shows
// its first page and can be opened before sealing. Pack then seals those
// very outputs.
type sendTransforms struct {
	running bool
	// done are the transformations for the stage and recipients in for.
	done   *app.Transforms
	by     map[string]*app.StagedTransform
	for_   []string
	cancel context.CancelFunc

	preview   *canvas.Image
	previewOf string
	caption   *widget.Label
	open      *widget.Button
	box       *fyne.Container
}

func (s *sendScreen) newTransformView() {
	x := &s.xf
	x.preview = canvas.NewImageFromResource(nil)
	x.preview.FillMode = canvas.ImageFillContain
	x.preview.SetMinSize(fyne.NewSize(120, 150))
	x.open = widget.NewButtonWithIcon("Open transformed", theme.FileIcon(), s.openTransformed)
	x.caption = widget.NewLabel("")
	x.caption.Wrapping = fyne.TextWrapWord
	x.box = container.NewBorder(x.caption, container.NewHBox(x.open), nil, nil, x.preview)
	x.box.Hide()
}

// crossesAs says in the table how a staged file will cross.
func (s *sendScreen) crossesAs(p string) string {
	st := s.xf.by[p]
	switch {
	case st == nil && s.xf.running:
		return ""
	case st == nil:
		return "as it is"
	case st.Err != nil:
		return "⚠ held: cannot transform"
	case st.Result == nil:
		return "transforming…"
	}
	switch st.Action {
	case transform.ActionPDFOfImages:
		return fmt.Sprintf("%d-page image PDF", st.Result.Pages)
	case transform.ActionReencodeImage:
		return "re-encoded " + strings.ToUpper(strings.TrimPrefix(filepath.Ext(st.Result.Output), "."))
	case transform.ActionCleanText:
		return "cleaned text"
	}
	return string(st.Action)
}

// dropTransforms forgets the transformations (the stage or the
// recipients changed) and removes their outputs.
func (s *sendScreen) dropTransforms() {
	x := &s.xf
	if x.cancel != nil {
		x.cancel()
		x.cancel = nil
	}
	x.done.Close()
	x.done, x.by, x.for_, x.running = nil, nil, nil, false
	x.box.Hide()
}

// transformStaged transforms, in the background, what the chosen kiosks'
// policies have this station transform.
func (s *sendScreen) transformStaged() {
	to := slices.Clone(s.recipients.Selected)
	slices.Sort(to)
	if s.xf.done != nil && slices.Equal(s.xf.for_, to) {
		return
	}
	s.dropTransforms()
	if !s.hashed || len(s.srcs) == 0 || len(to) == 0 || !s.st.TransformsAsked(to) {
		return
	}
	x := &s.xf
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel, x.running, x.for_ = cancel, true, to
	srcs, st := s.srcs, s.sess.acting()
	go func() {
		t, err := st.TransformStaged(ctx, srcs, to, nil)
		onUI(func() {
			if ctx.Err() != nil {
				t.Close()
				return // dropped meanwhile
			}
			x.running, x.cancel = false, nil
			if err != nil {
				s.showError(fmt.Errorf("the staged files could not be transformed as the kiosks' policies ask: %w", err))
				s.refresh()
				return
			}
			x.done, x.by = t, map[string]*app.StagedTransform{}
			for i := range t.Files {
				x.by[t.Files[i].Path] = &t.Files[i]
			}
			if f := t.Failed(); len(f) > 0 {
				s.heldNote.SetText(fmt.Sprintf("⚠ %d file(s) cannot be transformed as %s's policy asks of this station, so they cannot be sealed: %s: %s",
					len(f), strings.Join(f[0].For, ", "), safetext.Line(f[0].Path), safetext.Line(f[0].Err.Error())))
				s.heldNote.Show()
			}
			s.showTransform()
			s.refresh()
		})
	}()
}

// transformsFor are the transformations to seal with for recipients to,
// nil when none were made for them (Pack then makes them).
func (s *sendScreen) transformsFor(to []string) *app.Transforms {
	if s.xf.done != nil && slices.Equal(s.xf.for_, to) {
		return s.xf.done
	}
	return nil
}

// showTransform shows the selected file's transformed first page.
func (s *sendScreen) showTransform() {
	x := &s.xf
	var st *app.StagedTransform
	if s.selected >= 0 && s.selected < len(s.srcs) {
		st = x.by[s.srcs[s.selected].Path]
	}
	if st == nil || st.Result == nil {
		x.box.Hide()
		return
	}
	out := st.Result.Output
	r := st.Result
	x.caption.SetText(fmt.Sprintf("Crosses as %s: %s → %s, by %s %s in %.1f s. SHA-256 %x",
		filepath.Base(r.Output), humanize.IBytes(uint64(r.OriginalSize)), humanize.IBytes(uint64(r.OutputSize)), r.Tool, r.ToolVersion, r.Duration.Seconds(), r.OutputSHA256))
	if x.done.SealsOriginals {
		x.caption.SetText(x.caption.Text + "\nThe original is sealed too, apart, as the kiosk's policy allows: kept there, never released.")
	}
	x.box.Show()
	if x.previewOf == out {
		return
	}
	x.previewOf = out
	x.preview.Resource, x.preview.File = nil, ""
	x.preview.Refresh()
	go func() {
		png, err := app.TransformPreview(context.Background(), st.Result)
		onUI(func() {
			if x.previewOf != out || err != nil {
				return
			}
			x.preview.File = png
			x.preview.Refresh()
		})
	}()
}

// openTransformed opens the selected transformed file in the desktop's
// viewer.
func (s *sendScreen) openTransformed() {
	if s.selected < 0 || s.selected >= len(s.srcs) {
		return
	}
	if st := s.xf.by[s.srcs[s.selected].Path]; st != nil && st.Result != nil {
		u := &url.URL{Scheme: "file", Path: st.Result.Output}
		if err := fyne.CurrentApp().OpenURL(u); err != nil {
			s.showError(fmt.Errorf("open %s: %w", path.Base(st.Result.Output), err))
		}
	}
}
