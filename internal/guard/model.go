package guard

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// The learned detector: logistic regression over the hashed features of
// features.go. Its weights are produced by `make guard-model`
// (internal/guard/modelgen, docs/guard-data.md) and embedded here, so the
// binary downloads nothing at run time.

//go:embed model.bin
var embeddedModel []byte

// RuleModel names the learned detector's Finding.
const RuleModel = "model"

// Model is a trained linear detector. Its zero value scores every text 0.
type Model struct {
	bias      float64
	weights   []float32 // FeatureDim weights, or nil
	threshold float64   // the probability at which the model gives ModelPoints
	meta      string    // provenance (JSON written by modelgen)
}

// ModelPoints is what the model adds to a Verdict's score for a text whose
// probability equals the model's calibrated threshold: the default
// threshold, so that on its own the model flags a text exactly when it is
// at least as sure as it was calibrated to be.
const ModelPoints = DefaultThreshold

// Window bounds: a long text is scored in overlapping windows of about
// windowBytes and the highest window counts, so that one injected
// paragraph in a long, ordinary brief is not averaged away.
const (
	windowBytes  = 640
	windowStride = 320
)

// modelMagic starts an encoded model.
const modelMagic = "RGM1"

// defaultModel is the embedded model, decoded once.
var defaultModel = func() *Model {
	m, err := DecodeModel(embeddedModel)
	if err != nil {
		// A build whose model.bin is corrupt must not start guarding
		// without its detector: the tests decode it too.
		panic("guard: embedded model: " + err.Error())
	}
	return m
}()

// DefaultModel is the model embedded in the binary.
func DefaultModel() *Model { return defaultModel }

// Threshold is the calibrated probability at and above which the model, on
// its own, blocks a text at the default guard threshold.
func (m *Model) Threshold() float64 { return m.threshold }

// Meta is the model's provenance as written by modelgen (JSON).
func (m *Model) Meta() string { return m.meta }

// Probability is the model's estimate that the normalised text t is an
// injection attempt: the highest over t's windows.
func (m *Model) Probability(t string) float64 {
	if m == nil || m.weights == nil || t == "" {
		return 0
	}
	best := 0.0
	for w := range windows(t) {
		best = max(best, m.probabilityOf(newFeatureText(w)))
	}
	return best
}

// probabilityOf scores one window.
func (m *Model) probabilityOf(ft featureText) float64 {
	var dot float32
	n := ft.features(func(idx int, sign float32) { dot += sign * m.weights[idx] })
	if n == 0 {
		return sigmoid(m.bias)
	}
	return sigmoid(m.bias + float64(dot)/math.Sqrt(float64(n)))
}

// Points turns a probability into score points: 0 at 0, ModelPoints at the
// calibrated threshold, MaxScore at 1, linear in between.
func (m *Model) Points(p float64) int {
	t := m.threshold
	if t <= 0 || t >= 1 {
		return 0
	}
	var pts float64
	if p < t {
		pts = ModelPoints * p / t
	} else {
		pts = ModelPoints + (MaxScore-ModelPoints)*(p-t)/(1-t)
	}
	return int(math.Floor(pts))
}

func sigmoid(x float64) float64 {
	if x < -40 {
		return 0
	}
	return 1 / (1 + math.Exp(-x))
}

// windows yields t whole when it is short, else overlapping windows of
// about windowBytes that start and end at a space or line break where one is
// near.
func windows(t string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		if len(t) <= windowBytes {
			yield(t)
			return
		}
		for start := 0; start < len(t); start += windowStride {
			start = wordStart(t, start)
			end := min(len(t), start+windowBytes)
			if end < len(t) {
				end = wordEnd(t, start, end)
			}
			if !yield(t[start:end]) || end == len(t) {
				return
			}
		}
	}
}

// wordStart moves i forward to just after a space within 32 bytes, or to a
// rune boundary.
func wordStart(t string, i int) int {
	if i == 0 {
		return 0
	}
	if j := strings.IndexAny(t[i:min(len(t), i+32)], " \n"); j >= 0 {
		return i + j + 1
	}
	for i < len(t) && !utf8.RuneStart(t[i]) {
		i++
	}
	return i
}

// wordEnd moves end back to a space within 32 bytes, or to a rune boundary,
// never to start or before it.
func wordEnd(t string, start, end int) int {
	if j := strings.LastIndexAny(t[max(start, end-32):end], " \n"); j >= 0 && max(start, end-32)+j > start {
		return max(start, end-32) + j
	}
	for end > start+1 && !utf8.RuneStart(t[end]) {
		end--
	}
	return end
}

// EncodeModel serialises a model: the magic, FeatureBits, the bias, the
// weight scale, the threshold, the length and bytes of meta, then the
// weights quantised to int16 (all little-endian).
func EncodeModel(bias float64, weights []float32, threshold float64, meta string) ([]byte, error) {
	if len(weights) != FeatureDim {
		return nil, fmt.Errorf("want %d weights, have %d", FeatureDim, len(weights))
	}
	var maxAbs float32
	for _, w := range weights {
		maxAbs = max(maxAbs, float32(math.Abs(float64(w))))
	}
	scale := maxAbs / math.MaxInt16
	if scale == 0 {
		scale = 1
	}
	b := make([]byte, 0, 24+len(meta)+2*FeatureDim)
	b = append(b, modelMagic...)
	b = binary.LittleEndian.AppendUint32(b, FeatureBits)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(bias)))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scale))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(threshold)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(meta)))
	b = append(b, meta...)
	for _, w := range weights {
		q := math.Round(float64(w / scale))
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(q)))
	}
	return b, nil
}

// DecodeModel reads a model written by EncodeModel.
func DecodeModel(b []byte) (*Model, error) {
	if len(b) < 24 || string(b[:4]) != modelMagic {
		return nil, errors.New("not a guard model")
	}
	u32 := func(at int) uint32 { return binary.LittleEndian.Uint32(b[at:]) }
	f32 := func(at int) float32 { return math.Float32frombits(u32(at)) }
	if bits := u32(4); bits != FeatureBits {
		return nil, fmt.Errorf("model has %d feature bits, the code %d", bits, FeatureBits)
	}
	m := &Model{bias: float64(f32(8)), threshold: float64(f32(16))}
	scale := f32(12)
	metaLen := int(u32(20))
	if len(b) != 24+metaLen+2*FeatureDim {
		return nil, fmt.Errorf("model is %d bytes, want %d", len(b), 24+metaLen+2*FeatureDim)
	}
	m.meta = string(b[24 : 24+metaLen])
	w := b[24+metaLen:]
	m.weights = make([]float32, FeatureDim)
	for i := range m.weights {
		m.weights[i] = float32(int16(binary.LittleEndian.Uint16(w[2*i:]))) * scale
	}
	if !(m.threshold > 0 && m.threshold < 1) {
		return nil, fmt.Errorf("model threshold %v is not a probability", m.threshold)
	}
	return m, nil
}

// NormalizeForModel returns raw as Inspect normalises it (default
// MaxRunes), for scoring texts with Model.Probability outside Inspect.
func NormalizeForModel(raw string) string {
	s, _ := normalize(raw, DefaultMaxRunes)
	return s
}
