package texture

import (
	"fmt"
	"math"
)

// Offset is the displacement from a reference pixel to its neighbour, in rows
// (down) and columns (right).
type Offset struct {
	Row, Col int // rows down, columns right
}

// String returns the offset as "(row,col)".
func (o Offset) String() string { return fmt.Sprintf("(%d,%d)", o.Row, o.Col) }

// The four offsets at distance 1 that, made symmetric, cover all eight
// neighbours of a pixel. They are scikit-image's angles π/2, 0, π/4 and 3π/4.
var (
	South     = Offset{1, 0}  // the pixel below
	East      = Offset{0, 1}  // the pixel to the right
	SouthEast = Offset{1, 1}  // the pixel below and to the right
	SouthWest = Offset{1, -1} // the pixel below and to the left
)

// StandardOffsets returns South, East, SouthEast and SouthWest, the offsets
// Analyze uses when it is given none.
func StandardOffsets() []Offset { return []Offset{South, East, SouthEast, SouthWest} }

// GLCM is a grey-level co-occurrence matrix: a Levels×Levels table whose entry
// (i, j) counts, or gives the probability of, a reference pixel of grey level i
// having a neighbour of grey level j. Its methods never change it.
type GLCM struct {
	// Levels is the number of grey levels, the matrix's side.
	Levels int
	// P holds the entries row by row: entry (i, j) is P[i*Levels+j].
	P []float64
}

// Cooccurrence returns the raw, unsymmetric co-occurrence counts of im for off:
// each pixel whose neighbour at off lies inside the image adds one to entry
// (level of the pixel, level of the neighbour).
func Cooccurrence(im *Image, off Offset) *GLCM {
	n := im.levels
	g := &GLCM{Levels: n, P: make([]float64, n*n)}
	w, h := im.rect.Dx(), im.rect.Dy()
	// Rows and columns of reference pixels whose neighbour is inside.
	r0, r1 := max(0, -off.Row), min(h, h-off.Row)
	c0, c1 := max(0, -off.Col), min(w, w-off.Col)
	if r0 >= r1 || c0 >= c1 {
		return g
	}
	// Count in integers, then convert: exact, and quicker than float adds.
	counts := make([]uint32, n*n)
	d := off.Row*im.stride + off.Col
	for r := r0; r < r1; r++ {
		row := im.pix[r*im.stride:]
		for c := c0; c < c1; c++ {
			counts[int(row[c])*n+int(im.pix[r*im.stride+c+d])]++
		}
	}
	for k, v := range counts {
		g.P[k] = float64(v)
	}
	return g
}

// At returns entry (i, j).
func (g *GLCM) At(i, j int) float64 { return g.P[i*g.Levels+j] }

// Sum returns the sum of all entries: the number of pairs counted, or 1 for a
// normalised matrix of at least one pair.
func (g *GLCM) Sum() float64 {
	s := 0.0
	for _, v := range g.P {
		s += v
	}
	return s
}

// Symmetric returns g plus its transpose, which counts each pair in both
// directions, so that the result does not depend on the offset's sign.
func (g *GLCM) Symmetric() *GLCM {
	n := g.Levels
	s := &GLCM{Levels: n, P: make([]float64, n*n)}
	for i := range n {
		for j := range n {
			s.P[i*n+j] = g.P[i*n+j] + g.P[j*n+i]
		}
	}
	return s
}

// Normalized returns g divided by its sum, so that its entries are
// probabilities summing to 1. A matrix of all zeros is returned as a copy.
func (g *GLCM) Normalized() *GLCM {
	s := g.Sum()
	out := &GLCM{Levels: g.Levels, P: make([]float64, len(g.P))}
	for k, v := range g.P {
		if s != 0 {
			v /= s
		}
		out.P[k] = v
	}
	return out
}

// Features are Haralick's texture features of one co-occurrence matrix, with
// p(i, j) its normalised entries, as defined by scikit-image's graycoprops.
type Features struct {
	// Contrast is Σ p(i,j)·(i−j)²: 0 for a uniform texture, large for
	// neighbours of very different grey levels.
	Contrast float64
	// Dissimilarity is Σ p(i,j)·|i−j|.
	Dissimilarity float64
	// Homogeneity (inverse difference moment) is Σ p(i,j)/(1+(i−j)²), in (0, 1].
	Homogeneity float64
	// ASM, the angular second moment, is Σ p(i,j)², in (0, 1]; 1 for a
	// uniform image.
	ASM float64
	// Energy is √ASM.
	Energy float64
	// Entropy is −Σ p(i,j)·log₂ p(i,j), in bits: 0 for a uniform image, at
	// most 2·log₂(Levels).
	Entropy float64
	// Correlation is Σ p(i,j)·(i−μi)(j−μj)/(σi·σj), in [−1, 1]: how linearly
	// a neighbour's level depends on the reference's. It is 1 when either
	// level does not vary, like scikit-image.
	Correlation float64
}

// String formats the features with three decimals.
func (f Features) String() string {
	return fmt.Sprintf("contrast=%.3f dissimilarity=%.3f homogeneity=%.3f energy=%.3f asm=%.4f entropy=%.3f correlation=%.3f",
		f.Contrast, f.Dissimilarity, f.Homogeneity, f.Energy, f.ASM, f.Entropy, f.Correlation)
}

// Features computes the features of g, which may hold counts or
// probabilities: it is normalised first. A matrix of all zeros (no pairs) has
// zero features.
func (g *GLCM) Features() Features {
	n := g.Levels
	total := g.Sum()
	if total == 0 {
		return Features{}
	}
	var f Features
	var mi, mj float64
	for i := range n {
		for j := range n {
			p := g.P[i*n+j] / total
			if p == 0 {
				continue
			}
			d := float64(i - j)
			f.Contrast += p * d * d
			f.Dissimilarity += p * math.Abs(d)
			f.Homogeneity += p / (1 + d*d)
			f.ASM += p * p
			f.Entropy -= p * math.Log2(p)
			mi += p * float64(i)
			mj += p * float64(j)
		}
	}
	var vi, vj, cov float64
	for i := range n {
		for j := range n {
			p := g.P[i*n+j] / total
			if p == 0 {
				continue
			}
			di, dj := float64(i)-mi, float64(j)-mj
			vi += p * di * di
			vj += p * dj * dj
			cov += p * di * dj
		}
	}
	f.Energy = math.Sqrt(f.ASM)
	if vi*vj < 1e-15 {
		f.Correlation = 1
	} else {
		f.Correlation = cov / math.Sqrt(vi*vj)
	}
	return f
}

// Analyze returns the mean features, over the given offsets, of the symmetric
// normalised co-occurrence matrices of im. With no offsets it uses
// StandardOffsets, which makes the result independent of direction.
func Analyze(im *Image, offsets ...Offset) Features {
	if len(offsets) == 0 {
		offsets = StandardOffsets()
	}
	fs := make([]Features, len(offsets))
	for k, off := range offsets {
		fs[k] = Cooccurrence(im, off).Symmetric().Features()
	}
	return Mean(fs...)
}

// Mean returns the feature-by-feature mean of fs, or zero features for none.
func Mean(fs ...Features) Features {
	var m Features
	if len(fs) == 0 {
		return m
	}
	for _, f := range fs {
		m.Contrast += f.Contrast
		m.Dissimilarity += f.Dissimilarity
		m.Homogeneity += f.Homogeneity
		m.ASM += f.ASM
		m.Energy += f.Energy
		m.Entropy += f.Entropy
		m.Correlation += f.Correlation
	}
	n := float64(len(fs))
	m.Contrast /= n
	m.Dissimilarity /= n
	m.Homogeneity /= n
	m.ASM /= n
	m.Energy /= n
	m.Entropy /= n
	m.Correlation /= n
	return m
}
