package guard

import (
	"sort"
	"time"
	"unicode/utf8"
)

// Sample is one labelled text of an evaluation set.
type Sample struct {
	Text   string
	Source string // the collection it came from
	Attack bool
}

// Scored is a Sample with the guard's verdict on it.
type Scored struct {
	Sample
	Verdict Verdict
}

// SourceScore is the result on one collection.
type SourceScore struct {
	Source  string
	Attack  bool
	Texts   int
	Flagged int
}

// Rate is Flagged/Texts: recall for attacks, the false-positive rate for
// benign texts.
func (s SourceScore) Rate() float64 {
	if s.Texts == 0 {
		return 0
	}
	return float64(s.Flagged) / float64(s.Texts)
}

// SweepPoint is recall and false-positive rate at one threshold.
type SweepPoint struct {
	Threshold int
	Recall    float64
	FPR       float64
}

// Scorecard is the guard's result on labelled attacks and benign texts.
type Scorecard struct {
	Threshold         int
	Attacks, Benign   int
	Caught, FalsePos  int
	RulesCaught       int // attacks the rules alone flag
	RulesFalsePos     int // benign texts the rules alone flag
	ModelCaught       int // attacks the model alone flags
	ModelFalsePos     int // benign texts the model alone flags
	Sources           []SourceScore
	Sweep             []SweepPoint
	Misses            []Scored // attacks with the lowest scores, lowest first
	FalsePositives    []Scored // benign texts with the highest scores, highest first
	Bytes             int64
	Elapsed           time.Duration // time spent in Inspect
	MaxRunesTruncated int           // texts cut at MaxRunes
}

// Recall is the share of attacks flagged.
func (s Scorecard) Recall() float64 { return ratio(s.Caught, s.Attacks) }

// FPR is the share of benign texts flagged.
func (s Scorecard) FPR() float64 { return ratio(s.FalsePos, s.Benign) }

// PerKiB is the mean Inspect time per KiB of input.
func (s Scorecard) PerKiB() time.Duration {
	if s.Bytes == 0 {
		return 0
	}
	return time.Duration(float64(s.Elapsed) / (float64(s.Bytes) / 1024))
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Evaluate inspects every sample with g and scores the result at g's
// threshold, with a sweep over thresholds and the worst cases (worst of
// each kind).
func Evaluate(g *Guard, samples []Sample, worst int) Scorecard {
	g = g.settings()
	sc := Scorecard{Threshold: g.threshold}
	scored := make([]Scored, 0, len(samples))
	bySource := map[[2]string]*SourceScore{}
	var order [][2]string
	for _, s := range samples {
		start := time.Now()
		_, v := g.Inspect("data", s.Text)
		sc.Elapsed += time.Since(start)
		sc.Bytes += int64(len(s.Text))
		if v.Truncated && utf8.RuneCountInString(s.Text) > g.maxRunes {
			sc.MaxRunesTruncated++
		}
		scored = append(scored, Scored{Sample: s, Verdict: v})
		kind := "benign"
		if s.Attack {
			kind = "attack"
		}
		key := [2]string{kind, s.Source}
		ss, ok := bySource[key]
		if !ok {
			ss = &SourceScore{Source: s.Source, Attack: s.Attack}
			bySource[key] = ss
			order = append(order, key)
		}
		ss.Texts++
		rulesHit := v.RulesScore >= g.threshold
		modelHit := v.ModelScore >= g.threshold
		if s.Attack {
			sc.Attacks++
			if v.Blocked {
				sc.Caught++
				ss.Flagged++
			}
			if rulesHit {
				sc.RulesCaught++
			}
			if modelHit {
				sc.ModelCaught++
			}
		} else {
			sc.Benign++
			if v.Blocked {
				sc.FalsePos++
				ss.Flagged++
			}
			if rulesHit {
				sc.RulesFalsePos++
			}
			if modelHit {
				sc.ModelFalsePos++
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		return order[i][0] > order[j][0] || order[i][0] == order[j][0] && order[i][1] < order[j][1]
	})
	for _, k := range order {
		sc.Sources = append(sc.Sources, *bySource[k])
	}
	for t := 10; t <= MaxScore; t += 5 {
		var tp, fp int
		for _, s := range scored {
			if s.Verdict.Score >= t {
				if s.Attack {
					tp++
				} else {
					fp++
				}
			}
		}
		sc.Sweep = append(sc.Sweep, SweepPoint{Threshold: t, Recall: ratio(tp, sc.Attacks), FPR: ratio(fp, sc.Benign)})
	}
	var misses, fps []Scored
	for _, s := range scored {
		if s.Attack && !s.Verdict.Blocked {
			misses = append(misses, s)
		}
		if !s.Attack && s.Verdict.Blocked {
			fps = append(fps, s)
		}
	}
	if len(fps) < worst { // show the closest calls too
		fps = nil
		for _, s := range scored {
			if !s.Attack {
				fps = append(fps, s)
			}
		}
	}
	sort.SliceStable(misses, func(i, j int) bool { return key(misses[i]) < key(misses[j]) })
	sort.SliceStable(fps, func(i, j int) bool { return key(fps[i]) > key(fps[j]) })
	sc.Misses = misses[:min(worst, len(misses))]
	sc.FalsePositives = fps[:min(worst, len(fps))]
	return sc
}

// key orders verdicts by score, then by model probability.
func key(s Scored) float64 { return float64(s.Verdict.Score) + s.Verdict.ModelProbability }
