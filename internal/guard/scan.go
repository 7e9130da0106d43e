package guard

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// form names the text a pattern runs on (see fold.go).
type form uint8

const (
	formPlain    form = iota // lower case, look-alikes folded, spaces collapsed
	formSquashed             // plain, leetspeak read, punctuation and spacing tricks undone
	formCased                // the normalised text as is
	numForms
)

// defaultSpan is how far, in bytes, a match may reach from the start of its
// trigger.
const defaultSpan = 160

// pattern is one detector: a regular expression tried only where one of its
// triggers starts, so that a long benign text costs one pass over its words
// plus a few short, anchored regexp runs. (Go's regexp is linear but,
// unanchored over 20,000 bytes, takes a millisecond or more per expression.)
type pattern struct {
	rule  rule
	score int
	form  form
	// The triggers: words are whole words (runs of ASCII letters) of the
	// plain form; subs are substrings of the plain or cased form, or word
	// prefixes of the squashed form. They must list every way a match can
	// begin (TestTriggersCoverEveryMatch checks the corpora).
	words []string
	subs  []string
	// needs, when set, gate the pattern: it is tried only when one
	// of these occurs within span bytes after the trigger's start — for
	// the plain form a need of letters only is a whole word, any other a
	// substring; for the squashed form needs are substrings. The plain
	// form's needs are found in the same passes as the triggers, so the
	// gate costs a binary search, far less than a regexp run; and most
	// triggers ("you", "new", "system", "[") are ordinary.
	needs []string
	// reach, when set, is how far after the trigger's start a need may
	// start (default: span).
	reach int
	expr  string
	// strong and scoped, when set, replace score for a match in which a
	// group named "strong" or the group named "scope" is non-empty; scope
	// wins.
	strong, scoped int
	// lineStart: a match must have only spaces before it on its line.
	lineStart bool
	// span overrides defaultSpan for long patterns.
	span int
	// rot13: a match means the text holds rot13; it is decoded and scanned.
	rot13 bool

	re        *regexp.Regexp
	strongIdx []int // groups named "strong"
	scopeIdx  int
	wordStart bool
}

// compiled holds the patterns with their regexps and trigger indexes; it is
// built once, at package initialisation, from the table in rules.go.
type compiled struct {
	patterns []*pattern
	// byWord maps a word of the plain form to what it means: the patterns
	// it triggers or that need it, and its roles in proximity.go.
	byWord map[string]*wordUse
	// bySub maps the plain and cased forms' trigger substrings to their
	// patterns; subs lists them in a fixed order.
	bySub [numForms]map[string][]int
	subs  [numForms][]string
	// needSub maps the plain form's non-word needs to the patterns that
	// need them; needSubs lists them in a fixed order.
	needSub  map[string][]int
	needSubs []string
	// byPrefix maps the first two or three letters of the squashed form's
	// triggers to the triggers: there a trigger is a word prefix, since
	// undoing "ig-nore" and "i g n o r e" can glue words together.
	byPrefix map[string][]prefixTrigger
	// wordFilter and prefixFilter let the word passes skip the map lookup
	// for most words: a word can be in byWord only if its first, second and
	// last letters are set in wordFilter, and start a squashed trigger only
	// if its first two letters are set in prefixFilter.
	wordFilter   [26 * 26 * 26]bool
	prefixFilter [26 * 26]bool
}

// wordKey is a word's index in wordFilter; w is one or more of a-z.
func wordKey(w string) int {
	second := w[0]
	if len(w) > 1 {
		second = w[1]
	}
	return (int(w[0]-'a')*26+int(second-'a'))*26 + int(w[len(w)-1]-'a')
}

// prefixKey is a word's index in prefixFilter, or -1 for one letter.
func prefixKey(w string) int {
	if len(w) < 2 {
		return -1
	}
	return int(w[0]-'a')*26 + int(w[1]-'a')
}

// wordUse is what one word of the plain form means to the detectors.
type wordUse struct {
	triggers, needs []int
	roles           role
}

// prefixTrigger is a trigger of the squashed form and its patterns.
type prefixTrigger struct {
	prefix   string
	patterns []int
}

func (c *compiled) word(w string) *wordUse {
	u, ok := c.byWord[w]
	if !ok {
		u = &wordUse{}
		c.byWord[w] = u
	}
	return u
}

func compile(table []pattern) *compiled {
	c := &compiled{byWord: map[string]*wordUse{}, byPrefix: map[string][]prefixTrigger{}, needSub: map[string][]int{}}
	for f := range numForms {
		c.bySub[f] = map[string][]int{}
	}
	for i := range table {
		p := &table[i]
		p.re = regexp.MustCompile("^(?:" + p.expr + ")")
		for g, name := range p.re.SubexpNames() {
			if name == "strong" {
				p.strongIdx = append(p.strongIdx, g)
			}
		}
		p.scopeIdx = p.re.SubexpIndex("scope")
		p.wordStart = strings.HasPrefix(p.expr, `\b`)
		if p.span == 0 {
			p.span = defaultSpan
		}
		if p.reach == 0 {
			p.reach = p.span
		}
		if len(p.words) == 0 && len(p.subs) == 0 {
			panic("guard: pattern without trigger: " + p.expr)
		}
		if len(p.words) > 0 && p.form != formPlain {
			panic("guard: word triggers are for the plain form: " + p.expr)
		}
		for _, w := range p.words {
			u := c.word(w)
			u.triggers = append(u.triggers, i)
		}
		if p.form == formPlain {
			for _, n := range p.needs {
				if strings.Trim(n, "abcdefghijklmnopqrstuvwxyz") == "" {
					u := c.word(n)
					u.needs = append(u.needs, i)
					continue
				}
				if _, ok := c.needSub[n]; !ok {
					c.needSubs = append(c.needSubs, n)
				}
				c.needSub[n] = append(c.needSub[n], i)
			}
		}
		for _, s := range p.subs {
			if p.form == formSquashed {
				c.addPrefix(s, i)
				continue
			}
			if _, ok := c.bySub[p.form][s]; !ok {
				c.subs[p.form] = append(c.subs[p.form], s)
			}
			c.bySub[p.form][s] = append(c.bySub[p.form][s], i)
		}
		c.patterns = append(c.patterns, p)
	}
	for w, r := range proximityRoles {
		c.word(w).roles |= r
	}
	for w := range c.byWord {
		if w == "" || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") != "" {
			panic("guard: a word trigger or need is lower-case letters: " + w)
		}
		c.wordFilter[wordKey(w)] = true
	}
	return c
}

func (c *compiled) addPrefix(s string, pi int) {
	if len(s) < 2 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz") != "" {
		panic("guard: a squashed trigger is two or more letters: " + s)
	}
	c.prefixFilter[prefixKey(s)] = true
	key := s[:min(3, len(s))]
	ts := c.byPrefix[key]
	for i := range ts {
		if ts[i].prefix == s {
			ts[i].patterns = append(ts[i].patterns, pi)
			return
		}
	}
	c.byPrefix[key] = append(ts, prefixTrigger{prefix: s, patterns: []int{pi}})
}

// scores holds the score of each rule: the highest of its matched patterns.
type scores [numRules]int

func (s *scores) merge(o scores) {
	for i := range s {
		s[i] = max(s[i], o[i])
	}
}

// maxDepth bounds decoding: a payload found inside a decoded payload is
// scored but not decoded again.
const maxDepth = 1

// detect scores the normalised text t. At depth 0 it also returns the
// normalised texts it decoded from t (base64, hex, escapes, rot13), which
// the learned detector reads too.
func (c *compiled) detect(t string, depth int) (scores, []string) {
	var sc scores
	m := c.match(t)
	sc[ruleExfiltration] = m.proximity
	rot13 := false
	for i, got := range m.patterns {
		if got > 0 {
			pt := c.patterns[i]
			sc[pt.rule] = max(sc[pt.rule], got)
			rot13 = rot13 || pt.rot13
		}
	}
	var decoded []string
	if depth < maxDepth {
		payloads := encodedPayloads(t)
		if rot13 {
			payloads = append(payloads, rot13String(t))
		}
		if len(payloads) > 0 {
			sc[ruleEncodedPayload] = max(sc[ruleEncodedPayload], encodedScore)
		}
		for _, d := range payloads {
			inner, _ := normalize(d, DefaultMaxRunes)
			in, _ := c.detect(inner, depth+1)
			sc.merge(in)
			decoded = append(decoded, inner)
		}
	}
	return sc, decoded
}

// matches are the scores of one text: each pattern's, and the best of the
// proximity patterns (proximity.go).
type matches struct {
	patterns  []int
	proximity int
}

// match runs every pattern over the normalised text t.
func (c *compiled) match(t string) matches {
	var forms [numForms]string
	forms[formCased] = t
	forms[formPlain] = plainForm(t)
	forms[formSquashed] = squashedForm(forms[formPlain])

	// hits holds each pattern's trigger spans (start, end pairs); needs the
	// sorted starts of the words it needs (plain form only).
	hits := make([][]int, len(c.patterns))
	needs := make([][]int, len(c.patterns))

	// The plain form's words: triggers, needs and the proximity patterns.
	p := forms[formPlain]
	prox := proximity{s: p, verb: -1, pending: -1}
	for i, j := range asciiWords(p) {
		var u *wordUse
		if c.wordFilter[wordKey(p[i:j])] {
			u = c.byWord[p[i:j]]
		}
		if u == nil {
			prox.other(i, j)
			continue
		}
		for _, k := range u.triggers {
			hits[k] = append(hits[k], i, j)
		}
		for _, k := range u.needs {
			needs[k] = append(needs[k], i)
		}
		prox.feed(i, j, u.roles)
	}
	m := matches{patterns: make([]int, len(c.patterns)), proximity: max(prox.sendToURL, prox.secretAsk)}
	for _, n := range c.needSubs {
		for off := 0; ; {
			k := strings.Index(p[off:], n)
			if k < 0 {
				break
			}
			for _, pi := range c.needSub[n] {
				needs[pi] = append(needs[pi], off+k)
			}
			off += k + len(n)
		}
	}
	for _, n := range needs {
		slices.Sort(n) // words and substrings were found in separate passes
	}

	// The squashed form's words: prefix triggers.
	q := forms[formSquashed]
	for i, j := range asciiWords(q) {
		if k := prefixKey(q[i:j]); k < 0 || !c.prefixFilter[k] {
			continue
		}
		for _, key := range [2]string{q[i:min(j, i+3)], q[i:min(j, i+2)]} {
			for _, tr := range c.byPrefix[key] {
				if strings.HasPrefix(q[i:j], tr.prefix) {
					for _, k := range tr.patterns {
						hits[k] = append(hits[k], i, j)
					}
				}
			}
			if j-i < 3 {
				break // the two keys are the same
			}
		}
	}

	// Trigger substrings.
	for f := range numForms {
		s := forms[f]
		for _, sub := range c.subs[f] {
			for off := 0; ; {
				k := strings.Index(s[off:], sub)
				if k < 0 {
					break
				}
				at := off + k
				for _, pi := range c.bySub[f][sub] {
					hits[pi] = append(hits[pi], at, at+len(sub))
				}
				off = at + len(sub)
			}
		}
	}

	for i, h := range hits {
		if len(h) == 0 {
			continue
		}
		pt := c.patterns[i]
		if pt.form == formPlain && len(pt.needs) > 0 && len(needs[i]) == 0 {
			continue
		}
		m.patterns[i] = pt.run(forms[pt.form], h, needs[i])
	}
	return m
}

// asciiWords yields the start and end of each run of ASCII lower-case
// letters in s.
func asciiWords(s string) func(yield func(int, int) bool) {
	return func(yield func(int, int) bool) {
		for i := 0; i < len(s); {
			if !isLower(s[i]) {
				i++
				continue
			}
			j := i + 1
			for j < len(s) && isLower(s[j]) {
				j++
			}
			if !yield(i, j) {
				return
			}
			i = j
		}
	}
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c >= utf8.RuneSelf
}

// run returns the pattern's best score in s, trying it at the trigger
// spans in hits, a list of start, end pairs.
func (pt *pattern) run(s string, hits, needs []int) int {
	ceiling := max(pt.score, pt.strong)
	best := 0
	for i := 0; i < len(hits); i += 2 {
		at := hits[i]
		if pt.wordStart && at > 0 && isWordByte(s[at-1]) && isWordByte(s[at]) {
			continue
		}
		if pt.lineStart && !lineStartAt(s, at) {
			continue
		}
		end := min(len(s), at+pt.span)
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end++
		}
		if !pt.needed(s, at, min(end, at+pt.reach), needs) {
			continue
		}
		if m := pt.re.FindStringSubmatchIndex(s[at:end]); m != nil {
			best = max(best, pt.scoreOf(m))
			if best >= ceiling {
				break
			}
		}
	}
	return best
}

// needed reports whether one of the pattern's needs is in s(at, end):
// found in needs, the sorted starts of needed words, for the plain form;
// searched for otherwise.
func (pt *pattern) needed(s string, at, end int, needs []int) bool {
	if len(pt.needs) == 0 {
		return true
	}
	if pt.form == formPlain {
		k, _ := slices.BinarySearch(needs, at+1)
		return k < len(needs) && needs[k] < end
	}
	for _, n := range pt.needs {
		if strings.Contains(s[at+1:end], n) {
			return true
		}
	}
	return false
}

// scoreOf scores one match given its submatch indexes.
func (pt *pattern) scoreOf(m []int) int {
	got := pt.score
	for _, g := range pt.strongIdx {
		if m[2*g+1] > m[2*g] {
			got = pt.strong
		}
	}
	if pt.scopeIdx > 0 && m[2*pt.scopeIdx+1] > m[2*pt.scopeIdx] {
		got = pt.scoped
	}
	return got
}

// lineStartAt reports whether only spaces and tabs stand between the start
// of at's line and at.
func lineStartAt(s string, at int) bool {
	for i := at - 1; i >= 0; i-- {
		switch s[i] {
		case '\n':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return true
}

// rot13String rotates the ASCII letters of s by 13.
func rot13String(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case 'A' <= c && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}
