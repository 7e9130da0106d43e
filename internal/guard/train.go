package guard

import (
	"errors"
	"math"
	"math/rand/v2"
)

// Example is one labelled text for Train.
type Example struct {
	Text   string
	Attack bool
	Weight float64 // 0 means 1
}

// TrainOptions configure Train. Zero fields take the defaults below.
type TrainOptions struct {
	Epochs       int     // passes over the data; default 12
	LearningRate float64 // initial SGD step; default 0.5
	L2           float64 // regularisation strength per example; default 1e-6
	Seed         uint64  // shuffling seed; same seed, same data, same weights
}

// trainWindowsPerText bounds how many windows of one long text are trained
// on (its first ones): enough for a long jailbreak, few enough that one
// text does not outweigh a hundred short ones.
const trainWindowsPerText = 3

// Train fits a logistic regression on the hashed features of the examples
// with stochastic gradient descent and L2 regularisation, and returns the
// bias and the FeatureDim weights. It is deterministic for a given seed and
// input. Texts are normalised as Inspect normalises them and cut into the
// windows Probability scores.
func Train(examples []Example, opts TrainOptions) (bias float64, weights []float32, err error) {
	if len(examples) == 0 {
		return 0, nil, errors.New("no examples")
	}
	if opts.Epochs == 0 {
		opts.Epochs = 12
	}
	if opts.LearningRate == 0 {
		opts.LearningRate = 0.5
	}
	if opts.L2 == 0 {
		opts.L2 = 1e-6
	}
	type row struct {
		feats []uint32 // index, sign in the top bit
		y     float64
		w     float64
	}
	var rows []row
	for _, ex := range examples {
		t, _ := normalize(ex.Text, DefaultMaxRunes)
		y := 0.0
		if ex.Attack {
			y = 1
		}
		wt := ex.Weight
		if wt == 0 {
			wt = 1
		}
		k := 0
		for win := range windows(t) {
			if k == trainWindowsPerText {
				break
			}
			k++
			var f []uint32
			newFeatureText(win).features(func(idx int, sign float32) {
				v := uint32(idx)
				if sign < 0 {
					v |= 1 << 31
				}
				f = append(f, v)
			})
			rows = append(rows, row{feats: f, y: y, w: wt})
		}
	}
	// w = scale * v, so that the L2 shrinkage of every weight is one
	// multiplication of scale rather than a pass over FeatureDim weights.
	v := make([]float64, FeatureDim)
	scale := 1.0
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x6775617264))
	step := 0
	for range opts.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			r := rows[i]
			lr := opts.LearningRate / (1 + 1e-5*float64(step))
			step++
			norm := 1.0
			if len(r.feats) > 0 {
				norm = 1 / math.Sqrt(float64(len(r.feats)))
			}
			dot := 0.0
			for _, f := range r.feats {
				dot += signOf(f) * v[f&(FeatureDim-1)]
			}
			p := sigmoid(bias + scale*dot*norm)
			g := (p - r.y) * r.w // d loss / d margin
			bias -= lr * g * 0.1
			scale *= 1 - lr*opts.L2
			d := lr * g * norm / scale
			for _, f := range r.feats {
				v[f&(FeatureDim-1)] -= d * signOf(f)
			}
			if scale < 1e-6 {
				for j := range v {
					v[j] *= scale
				}
				scale = 1
			}
		}
	}
	weights = make([]float32, FeatureDim)
	for j := range v {
		weights[j] = float32(v[j] * scale)
	}
	return bias, weights, nil
}

func signOf(f uint32) float64 {
	if f&(1<<31) != 0 {
		return -1
	}
	return 1
}

// NewModel builds a Model from trained weights and a calibrated threshold,
// for evaluation before the model is encoded.
func NewModel(bias float64, weights []float32, threshold float64) *Model {
	return &Model{bias: bias, weights: weights, threshold: threshold}
}
