package api

import (
	"net/http"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// form posts a console form (urlencoded) the way a browser does, following
// the redirect to the page.
func (e *env) form(c *http.Client, path string, v url.Values, headers ...string) resp {
	e.t.Helper()
	return e.do(c, http.MethodPost, path, v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html"}, headers...)...)
}

// page GETs a console page as HTML.
func (e *env) page(c *http.Client, path string, headers ...string) resp {
	e.t.Helper()
	return e.do(c, http.MethodGet, path, nil, append([]string{"Accept", "text/html"}, headers...)...)
}

// idOf reads one id as the superuser (fixtures and assertions).
func (e *env) idOf(sql string, args ...any) string {
	e.t.Helper()
	id, err := pgx.CollectExactlyOneRow(e.admin(sql, args...), pgx.RowTo[string])
	if err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return id
}
