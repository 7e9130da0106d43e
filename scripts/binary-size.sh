#!/usr/bin/env bash
# binary-size.sh — where the bytes of the rampart binary go, by package and
# by module (docs/binary-size.md).
#
#   scripts/binary-size.sh [BINARY] [N]
#
# BINARY must keep its symbol table (built without -ldflags -s). Without
# one, the script builds ./cmd/rampart into a temporary directory with the
# Makefile's flags minus -s -w. N is the number of rows (default 15).
#
# Each symbol of `go tool nm -size` is charged to its package: code (.text)
# and read-only data and data (.rodata, .data, type descriptors and itabs
# by the package of their type). Zero-filled .bss/.noptrbss takes no space
# in the file and is left out. Not attributed: the function tables
# (.gopclntab, about as large as the code), go:func.* funcdata, and DWARF
# and the symbol table, which the Makefile's -s -w strip.
set -euo pipefail

bin=${1:-}
top=${2:-15}
if [[ -z $bin ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	bin=$tmp/rampart
	go build -trimpath -o "$bin" ./cmd/rampart
fi

# Module paths linked into the binary, for the by-module table.
mods=$(go version -m "$bin" | awk '$1 == "mod" || $1 == "dep" { print $2 }')
main=$(go version -m "$bin" | awk '$1 == "mod" { print $2 }')

go tool nm -size "$bin" | awk -v top="$top" -v mods="$mods" -v mainmod="$main" -v file="$(wc -c <"$bin")" '
function pkgof(n,    b, s, rest, d, m) {
	sub(/^type:/, "", n)
	sub(/^go:itab\./, "", n)
	sub(/^\.(eq|hash)\./, "", n)
	# Wrappers of an anonymous struct: charged to the type of its first field.
	sub(/^go:struct \{ /, "", n)
	while (n ~ /^(\*|\[[0-9]*\])/) sub(/^(\*|\[[0-9]*\])/, "", n)
	# Equality and hash functions of anonymous structs: charged to the
	# first package-qualified type among the fields.
	if (n ~ /^struct ?\{/ && match(n, /[A-Za-z0-9_.~-]+(\/[A-Za-z0-9_.~-]+)+\.[A-Za-z_]/)) n = substr(n, RSTART, RLENGTH)
	if (n ~ /^(go:|map\[|func\(|struct ?\{|interface ?\{|chan |noalg\.|\$)/) {
		sub(/[.( \[{].*/, "", n)
		return "(" n ")"
	}
	# A module whose last path element has a dot (gopkg.in/yaml.v3).
	for (m in modset) if (index(n, m ".") == 1) return m
	b = index(n, "[")
	if (b > 0) n = substr(n, 1, b - 1)
	s = 0
	if (match(n, /.*\//)) s = RLENGTH
	rest = substr(n, s + 1)
	d = index(rest, ".")
	if (d > 0) rest = substr(rest, 1, d - 1)
	return substr(n, 1, s) rest
}
function modof(p,    m, best) {
	if (p == "main") return mainmod
	if (p ~ /^\(/) return p
	best = ""
	for (m in modset)
		if ((p == m || index(p, m "/") == 1) && length(m) > length(best)) best = m
	if (best != "") return best
	if (p ~ /^vendor\// || p !~ /^[^\/]*\./) return "std"
	return p
}
BEGIN {
	n = split(mods, ml, "\n")
	for (i = 1; i <= n; i++) if (ml[i] != "") modset[ml[i]] = 1
}
NF >= 4 && $3 != "U" {
	addr = sprintf("%16s", $1); gsub(/ /, "0", addr) # hex, compared as strings
	size = $2; type = $3; name = $4
	for (i = 5; i <= NF; i++) name = name " " $i
	if (name == "runtime.bss") bss = addr
	if (name == "runtime.enoptrbss") ebss = addr
	sym[NR] = addr; sz[NR] = size; ty[NR] = type; nm[NR] = name
}
END {
	for (i in sym) {
		if (sz[i] == 0 || (sym[i] >= bss && sym[i] < ebss)) continue
		p = pkgof(nm[i])
		t = tolower(ty[i])
		if (t == "t") code[p] += sz[i]; else data[p] += sz[i]
		tot[p] += sz[i]
		all += sz[i]
		mod[modof(p)] += sz[i]
	}
	printf "%s: %d bytes; %d of them (%.0f%%) attributed to symbols\n\n", "binary", file, all, 100 * all / file
	printf "%-62s %12s %12s %12s\n", "package", "total", "code", "data"
	k = 0
	for (p in tot) order[++k] = p
	sortdesc(order, k, tot)
	for (i = 1; i <= k && i <= top; i++) printf "%-62s %12d %12d %12d\n", order[i], tot[order[i]], code[order[i]], data[order[i]]
	printf "\n%-62s %12s %6s\n", "module", "total", "share"
	k = 0
	for (m in mod) morder[++k] = m
	sortdesc(morder, k, mod)
	for (i = 1; i <= k && i <= top; i++) printf "%-62s %12d %5.1f%%\n", morder[i], mod[morder[i]], 100 * mod[morder[i]] / all
}
function sortdesc(a, n, v,    i, j, x) {
	for (i = 2; i <= n; i++) {
		x = a[i]
		for (j = i - 1; j >= 1 && v[a[j]] < v[x]; j--) a[j + 1] = a[j]
		a[j + 1] = x
	}
}'
