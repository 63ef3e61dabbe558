package ui

import (
	"strings"
	"testing"

	"sluice/app"
)

// The policy summary says where each kind is rebuilt and whether rebuilt
// documents keep searchable text, and whether originals may cross sealed.
func TestTransformSummary(t *testing.T) {
	for _, c := range []struct {
		p    app.TransformPolicy
		want []string
		not  []string
	}{
		{app.TransformPolicy{Documents: app.TransformSender, Images: app.TransformSender, Text: app.TransformOff, OCR: "eng+deu"},
			[]string{"documents and images by the sender, verified here", "searchable text (OCR: eng+deu)"}, []string{"OCR off", "originals"}},
		{app.TransformPolicy{Documents: app.TransformSender, Images: app.TransformOff, Text: app.TransformOff, SealOriginals: true},
			[]string{"originals accepted sealed, kept here, never released"}, nil},
		{app.TransformPolicy{Documents: app.TransformKiosk, Images: app.TransformOff, Text: app.TransformOff},
			[]string{"documents here, before release", "without searchable text (OCR off)"}, nil},
		{app.TransformPolicy{Documents: app.TransformOff, Images: app.TransformKiosk, Text: app.TransformOff, OCR: "eng"},
			[]string{"images here, before release"}, []string{"OCR"}},
		{app.TransformPolicy{Documents: app.TransformOff, Images: app.TransformOff, Text: app.TransformOff, OCR: "eng"},
			[]string{"nothing (transform off)"}, []string{"OCR"}},
	} {
		got := transformSummary(c.p)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: %q lacks %q", c.p, got, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(got, n) {
				t.Errorf("%+v: %q says %q", c.p, got, n)
			}
		}
	}
}
