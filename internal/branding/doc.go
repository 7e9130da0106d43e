// Package branding is an organization's console branding: a display
// name, two colours and a logo stored as a JSON override on the
// organization (migration 023). Every member reads their organization's
// (the console applies it to that organization's pages only); admins
// change it. It guarantees what reaches a page is safe to apply: colours
// are exactly #rrggbb, the logo is a PNG or JPEG by its content within
// rampart.MaxLogoBytes, and the display name is plain text of at most 100
// characters. Every change is audited, the logo by hash and size.
package branding
