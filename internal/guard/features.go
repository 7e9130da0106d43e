package guard

import "unicode/utf8"

// The learned detector reads a text as a bag of hashed features (the
// "hashing trick"): every character 3-, 4- and 5-gram of the plain form and
// every word and word pair of the squashed form is hashed into one of
// FeatureDim slots, with a sign taken from the hash so that collisions
// cancel rather than add up. No vocabulary is stored, so a word the
// training data never held still lands in a slot, and the weights are a
// fixed-size array that go:embed can carry.

// FeatureBits is log2 of the feature space's size.
const FeatureBits = 18

// FeatureDim is the number of feature slots (and of model weights).
const FeatureDim = 1 << FeatureBits

// Seeds keep the kinds of feature apart in the hash space.
const (
	seedChar   = 0x9e3779b1
	seedWord   = 0x85ebca77
	seedBigram = 0xc2b2ae3d
)

// fnvPrime is FNV-1a's 32-bit prime.
const fnvPrime = 16777619

// fnvByte folds one byte into an FNV-1a hash.
func fnvByte(h uint32, c byte) uint32 { return (h ^ uint32(c)) * fnvPrime }

// fnvString folds s into an FNV-1a hash.
func fnvString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * fnvPrime
	}
	return h
}

// slot maps a hash to a feature index and a sign (+1 or -1). The hash is
// mixed first (murmur3's finaliser) so that the low bits depend on every
// input byte.
func slot(h uint32) (int, float32) {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	sign := float32(1)
	if h&(1<<31) != 0 {
		sign = -1
	}
	return int(h & (FeatureDim - 1)), sign
}

// featureText is the two forms the features are read from.
type featureText struct {
	plain    string // lower case, look-alikes folded, spaces collapsed
	squashed string // plain, leetspeak read, single letters joined
}

func newFeatureText(normalised string) featureText {
	p := plainForm(normalised)
	return featureText{plain: p, squashed: squashedForm(p)}
}

// features calls emit for every hashed feature of ft, once per occurrence,
// and returns how many it emitted.
func (ft featureText) features(emit func(idx int, sign float32)) int {
	n := 0
	// Character n-grams of the plain form, on bytes: a multi-byte rune
	// gives a few grams of its bytes, which is as good a feature as any.
	// Line breaks read as spaces.
	p := ft.plain
	for i := 0; i < len(p); i++ {
		h := uint32(seedChar)
		for k := 0; k < 5 && i+k < len(p); k++ {
			c := p[i+k]
			if c == '\n' || c == '\t' {
				c = ' '
			}
			h = fnvByte(h, c)
			if k >= 2 {
				emit(slot(h ^ uint32(k)))
				n++
			}
		}
	}
	// Words and word pairs of the squashed form (letters only).
	prev := uint32(0)
	havePrev := false
	s := ft.squashed
	for i := 0; i < len(s); {
		c := s[i]
		if !isLetterStart(s, i) {
			if c == '\n' {
				havePrev = false
			}
			i++
			continue
		}
		j := i
		for j < len(s) && isLetterStart(s, j) {
			if s[j] < utf8.RuneSelf {
				j++
			} else {
				_, size := utf8.DecodeRuneInString(s[j:])
				j += size
			}
		}
		w := fnvString(seedWord, s[i:j])
		emit(slot(w))
		n++
		if havePrev {
			emit(slot(fnvString(prev*31+seedBigram, s[i:j])))
			n++
		}
		prev, havePrev = w, true
		i = j
	}
	return n
}

// isLetterStart reports whether s[i:] starts with a letter of the squashed
// form (which holds only letters, spaces and line breaks, and non-ASCII
// letters).
func isLetterStart(s string, i int) bool {
	c := s[i]
	if c < utf8.RuneSelf {
		return 'a' <= c && c <= 'z'
	}
	return true
}
