package console

import (
	"net/http"
	"strconv"

	"github.com/rampart-dev/rampart/internal/branding"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Branding: an admin's override of the console's look for their
// organization (internal/branding). The layout applies it through its
// nonce'd <style> element (CSS custom properties; the values are exactly
// #rrggbb) and the logo through GET /branding/logo, an image served with
// its sniffed type and nosniff. Nothing of it is an inline style
// attribute, and nothing of one organization's reaches another's pages.

func (s brandingPages) register() {
	s.page("GET /admin/branding", s.brandingPage)
	s.page("POST /admin/branding", s.setBranding)
	s.edge.PageUpload("POST /admin/branding/logo", s.fail, s.uploadLogo)
	s.page("GET /branding/logo", s.logo)
}

type brandingData struct {
	B       rampart.Branding
	MaxLogo int
	Errors  map[string]string
}

func (s brandingPages) brandingPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderBranding(w, r, c, http.StatusOK, nil, nil)
}

func (s brandingPages) renderBranding(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, shown *rampart.Branding, errs map[string]string) error {
	if err := adminOnly(c); err != nil {
		return err
	}
	b, err := branding.Get(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	if shown != nil {
		b.DisplayName, b.Primary, b.Accent = shown.DisplayName, shown.Primary, shown.Accent
	}
	return s.render(w, r, c, status, "branding", view{Title: "Branding", Section: "branding",
		Data: brandingData{B: b, MaxLogo: rampart.MaxLogoBytes, Errors: errs}})
}

// setBranding changes the display name and colours, or removes the logo.
func (s brandingPages) setBranding(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	ch := branding.Change{RemoveLogo: v.Get("remove_logo") == "1"}
	if !ch.RemoveLogo {
		name, primary, accent := v.Get("display_name"), v.Get("primary"), v.Get("accent")
		ch.DisplayName, ch.Primary, ch.Accent = &name, &primary, &accent
	}
	_, err = branding.Set(r.Context(), s.store, c, ch)
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		shown := rampart.Branding{DisplayName: v.Get("display_name"), Primary: v.Get("primary"), Accent: v.Get("accent")}
		return s.renderBranding(w, r, c, http.StatusBadRequest, &shown,
			map[string]string{brandingField(err): rampart.ErrorMessage(err)})
	}
	if err != nil {
		return err
	}
	return done(w, r, "/admin/branding", "saved")
}

func brandingField(err error) string {
	for _, f := range []string{"display_name", "primary", "accent", "logo"} {
		if fieldOf(err, "") == f || len(rampart.ErrorMessage(err)) >= len(f) && rampart.ErrorMessage(err)[:len(f)] == f {
			return f
		}
	}
	return "display_name"
}

// uploadLogo replaces the logo (a PNG or JPEG by content, within the cap).
func (s brandingPages) uploadLogo(w http.ResponseWriter, r *http.Request, c rampart.Claims, f edge.File) error {
	_, err := branding.Set(r.Context(), s.store, c, branding.Change{Logo: f.Content})
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		return s.renderBranding(w, r, c, http.StatusBadRequest, nil, map[string]string{"logo": rampart.ErrorMessage(err)})
	}
	if err != nil {
		return err
	}
	return done(w, r, "/admin/branding", "uploaded")
}

// logo serves the caller's organization's logo: its sniffed type,
// nosniff, a CSP that runs nothing, private caching by the URL's
// version.
func (s brandingPages) logo(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	b, err := branding.Get(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	if len(b.Logo) == 0 || rampart.LogoTypeOf(b.Logo) == "" {
		return rampart.Errorf("console.logo", rampart.KindNotFound, "no logo")
	}
	h := w.Header()
	h.Set("Content-Type", rampart.LogoTypeOf(b.Logo))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("Content-Length", strconv.Itoa(len(b.Logo)))
	_, err = w.Write(b.Logo)
	return err
}

// orgSignIn is an organization's own sign-in page (GET /o/{slug}): the
// sign-in form under the organization's public name and logo, and
// nothing else of it. An unknown slug is the plain sign-in page's 404.
func (s brandingPages) orgSignIn(w http.ResponseWriter, r *http.Request) error {
	edge.NoStore(w)
	pb, ok, err := s.store.Auth().PublicBranding(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	if !ok {
		return rampart.Errorf("console.orgSignIn", rampart.KindNotFound, "no such organization")
	}
	d := pageData{Title: pb.Name + " · Rampart", Demo: s.demoFor(r), OrgName: pb.Name}
	if len(pb.Logo) > 0 {
		d.OrgLogo = "/o/" + r.PathValue("slug") + "/logo"
	}
	return renderPage(w, r, http.StatusOK, "org-signin", d)
}

// orgLogo serves an organization's logo for its sign-in page, like
// GET /branding/logo (sniffed type, nosniff, a CSP that runs nothing).
func (s brandingPages) orgLogo(w http.ResponseWriter, r *http.Request) error {
	pb, ok, err := s.store.Auth().PublicBranding(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	if !ok || len(pb.Logo) == 0 {
		return rampart.Errorf("console.orgLogo", rampart.KindNotFound, "no logo")
	}
	h := w.Header()
	h.Set("Content-Type", pb.LogoType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Content-Length", strconv.Itoa(len(pb.Logo)))
	_, err = w.Write(pb.Logo)
	return err
}
