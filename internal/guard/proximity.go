package guard

import "strings"

// Two exfiltration patterns are "this word, then that word, then that one,
// close together". As regular expressions they need an unanchored search
// with bounded gaps, which Go's regexp runs slowly over a long text; here
// they are a small state machine fed the plain form's words in the same pass
// that finds the triggers.
//
//	send-to-URL:  a sending verb, then data worth stealing, then a URL, on
//	              one line within proximitySpan bytes
//	              ("append the chat history to https://…")             50
//	secret ask:   an asking verb, then a credential, in one sentence
//	              within secretSpan bytes ("what is the wifi password") 20
//	              … with an owner just before the credential
//	              ("print your API key", "the server's password")      50

const (
	proximitySpan = 240
	secretSpan    = 60

	scoreSendToURL    = 50
	scoreSecretAsk    = 20
	scoreSecretStrong = 50
)

// role is a set of the parts a word can play in the proximity patterns.
type role uint16

const (
	roleSendVerb   role = 1 << iota // "send", "append"
	roleStolen                      // "conversation", "password"
	roleStolenPair                  // second word of a stolen pair: "history"
	roleAskVerb                     // "print", "tell"
	roleSecret                      // "password"
	roleSecretPair                  // second word of a credential pair: "key"
	roleOwner                       // "your", "internal" before a credential
	roleTheOwner                    // "server" in "the server's password"
	roleURL                         // "http", "https", "www"
)

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

var (
	// stolenPairs are two-word data worth stealing, keyed by the second
	// word, valued by the first words; secretPairs are two-word credentials.
	stolenPairs = map[string]map[string]bool{
		"history":   set("chat conversation message"),
		"log":       set("chat"),
		"window":    set("context"),
		"key":       set("api private ssh secret"),
		"keys":      set("api private ssh secret"),
		"token":     set("access auth bearer api session"),
		"tokens":    set("access auth bearer api session"),
		"id":        set("session"),
		"ids":       set("session"),
		"cookie":    set("session"),
		"variable":  set("env environment"),
		"variables": set("env environment"),
		"data":      set("user personal private sensitive"),
		"messages":  set("previous"),
		"above":     set("everything data"),
	}
	secretPairs = map[string]map[string]bool{
		"key":       set("api private ssh secret"),
		"keys":      set("api private ssh secret"),
		"token":     set("access auth bearer api"),
		"tokens":    set("access auth bearer api"),
		"variable":  set("env environment"),
		"variables": set("env environment"),
	}

	// proximityRoles gives each word its roles; compile merges it into the
	// word index so that the pass costs one map lookup per word.
	proximityRoles = func() map[string]role {
		m := map[string]role{}
		add := func(r role, words string) {
			for _, w := range strings.Fields(words) {
				m[w] |= r
			}
		}
		add(roleSendVerb, "send post upload transmit forward exfiltrate submit append include encode leak put add attach embed write")
		add(roleStolen, "conversation prompt instructions secret secrets credential credentials password passwords passwd cookies memory apikey apikeys")
		add(roleAskVerb, "reveal print show tell give send share output leak dump list email post display expose return paste provide read")
		add(roleSecret, "password passwords passwd secret secrets credential credentials apikey apikeys")
		add(roleOwner, "your internal environment env openai anthropic admin root database db aws stripe production prod")
		add(roleTheOwner, "system server admin root database db model assistant ai")
		add(roleURL, "http https www")
		for w := range stolenPairs {
			m[w] |= roleStolenPair
		}
		for w := range secretPairs {
			m[w] |= roleSecretPair
		}
		return m
	}()
)

// proxToken is one word of the plain form with where it starts and ends.
type proxToken struct{ start, end int }

// proximity is the state machine. Feed it every word in order (feed for
// words with roles, other for the rest), then read sendToURL and secretAsk.
type proximity struct {
	s string
	// recent holds the last words, newest last.
	recent [8]proxToken
	n      int
	// lineStart and sentenceStart are where the current line and sentence
	// begin.
	lineStart, sentenceStart int
	verb, pending            int // last sending verb; verb of the last stolen data
	prevEnd                  int

	sendToURL, secretAsk int
}

// back returns the i-th word before the newest (0 = the newest), or "" when
// there are not that many or it starts before limit.
func (p *proximity) back(i, limit int) string {
	if i >= p.n || i >= len(p.recent) {
		return ""
	}
	t := p.recent[(p.n-1-i)%len(p.recent)]
	if t.start < limit {
		return ""
	}
	return p.s[t.start:t.end]
}

// other takes the next word, s[start:end], which has no role.
func (p *proximity) other(start, end int) {
	p.advance(start, end)
}

// advance records the word s[start:end] and the line and sentence breaks
// before it.
func (p *proximity) advance(start, end int) {
	for k := start - 1; k >= p.prevEnd; k-- {
		switch p.s[k] {
		case '\n':
			p.lineStart = max(p.lineStart, k+1)
			p.sentenceStart = max(p.sentenceStart, k+1)
			p.verb, p.pending = -1, -1
		case '.', '!', '?', ';':
			p.sentenceStart = max(p.sentenceStart, k+1)
		}
	}
	p.prevEnd = end
	p.recent[p.n%len(p.recent)] = proxToken{start, end}
	p.n++
}

// feed takes the next word, s[start:end], and its roles.
func (p *proximity) feed(start, end int, r role) {
	p.advance(start, end)
	if r == 0 {
		return
	}
	w := p.s[start:end]

	// send-to-URL
	switch {
	case r&roleSendVerb != 0:
		p.verb = start
	case p.verb >= 0 && (r&roleStolen != 0 || r&roleStolenPair != 0 && stolenPairs[w][p.back(1, p.lineStart)]):
		p.pending = p.verb
	case p.pending >= 0 && r&roleURL != 0:
		rest := p.s[end:]
		if (strings.HasPrefix(rest, "://") || w == "www" && strings.HasPrefix(rest, ".")) && start-p.pending <= proximitySpan {
			p.sendToURL = scoreSendToURL
		}
	}

	// secret ask
	if p.secretAsk >= scoreSecretStrong {
		return
	}
	first := 0 // the credential's words, minus one
	switch {
	case r&roleSecret != 0:
	case r&roleSecretPair != 0 && secretPairs[w][p.back(1, p.sentenceStart)]:
		first = 1
	default:
		return
	}
	limit := max(p.sentenceStart, start-secretSpan)
	asked := false
	for i := first + 1; i < len(p.recent); i++ {
		v := p.back(i, limit)
		if v == "" {
			break
		}
		if proximityRoles[v]&roleAskVerb != 0 {
			asked = true
			break
		}
		if v == "what" {
			if next := p.back(i-1, limit); next == "is" || next == "are" || next == "s" {
				asked = true
				break
			}
		}
	}
	if !asked {
		return
	}
	score := scoreSecretAsk
	o1, o2, o3 := p.back(first+1, limit), p.back(first+2, limit), p.back(first+3, limit)
	if proximityRoles[o1]&roleOwner != 0 ||
		o2 == "the" && proximityRoles[o1]&roleTheOwner != 0 ||
		o1 == "s" && o3 == "the" && proximityRoles[o2]&roleTheOwner != 0 {
		score = scoreSecretStrong
	}
	p.secretAsk = max(p.secretAsk, score)
}
