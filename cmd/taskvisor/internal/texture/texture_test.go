package texture

import (
	"image"
	"math"
	"slices"
	"testing"
)

// haralick is the classic 4×4, 4-level example of Haralick et al. (1973),
// also used by scikit-image's graycomatrix documentation.
var haralick = [][]uint8{
	{0, 0, 1, 1},
	{0, 0, 1, 1},
	{0, 2, 2, 2},
	{2, 2, 3, 3},
}

func mustRows(t *testing.T, levels int, rows [][]uint8) *Image {
	t.Helper()
	im, err := FromRows(levels, rows)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func matrix(g *GLCM) [][]float64 {
	m := make([][]float64, g.Levels)
	for i := range m {
		m[i] = g.P[i*g.Levels : (i+1)*g.Levels]
	}
	return m
}

func TestCooccurrenceHaralick(t *testing.T) {
	im := mustRows(t, 4, haralick)
	// Counted by hand; they match scikit-image's documented results for
	// angles 0, π/4, π/2 and 3π/4 at distance 1.
	tests := []struct {
		off  Offset
		want [][]float64
	}{
		{East, [][]float64{{2, 2, 1, 0}, {0, 2, 0, 0}, {0, 0, 3, 1}, {0, 0, 0, 1}}},
		{SouthEast, [][]float64{{1, 1, 3, 0}, {0, 1, 1, 0}, {0, 0, 0, 2}, {0, 0, 0, 0}}},
		{South, [][]float64{{3, 0, 2, 0}, {0, 2, 2, 0}, {0, 0, 1, 2}, {0, 0, 0, 0}}},
		{SouthWest, [][]float64{{2, 0, 0, 0}, {1, 1, 2, 0}, {0, 0, 2, 1}, {0, 0, 0, 0}}},
		// The opposite offset gives the transpose.
		{Offset{0, -1}, [][]float64{{2, 0, 0, 0}, {2, 2, 0, 0}, {1, 0, 3, 0}, {0, 0, 1, 1}}},
		// Distance 2 to the right: rows 0 and 1 give (0,1) twice each, row 2
		// gives (0,2) and (2,2), row 3 gives (2,3) twice.
		{Offset{0, 2}, [][]float64{{0, 4, 1, 0}, {0, 0, 0, 0}, {0, 0, 1, 2}, {0, 0, 0, 0}}},
		// An offset longer than the image has no pairs.
		{Offset{4, 0}, [][]float64{{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}},
	}
	for _, tt := range tests {
		got := Cooccurrence(im, tt.off)
		if !slices.EqualFunc(matrix(got), tt.want, slices.Equal) {
			t.Errorf("Cooccurrence(%v) = %v, want %v", tt.off, matrix(got), tt.want)
		}
	}
}

func TestSymmetricNormalized(t *testing.T) {
	g := Cooccurrence(mustRows(t, 4, haralick), East).Symmetric()
	want := [][]float64{{4, 2, 1, 0}, {2, 4, 0, 0}, {1, 0, 6, 1}, {0, 0, 1, 2}}
	if !slices.EqualFunc(matrix(g), want, slices.Equal) {
		t.Fatalf("Symmetric = %v, want %v", matrix(g), want)
	}
	if s := g.Sum(); s != 24 {
		t.Fatalf("Sum = %v, want 24", s)
	}
	n := g.Normalized()
	if s := n.Sum(); math.Abs(s-1) > 1e-12 {
		t.Fatalf("normalised Sum = %v, want 1", s)
	}
	if got := n.At(2, 2); got != 6.0/24 {
		t.Errorf("normalised At(2,2) = %v, want 0.25", got)
	}
	if g.At(2, 2) != 6 {
		t.Errorf("Normalized changed its receiver")
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

func checkFeatures(t *testing.T, name string, got, want Features) {
	t.Helper()
	fields := []struct {
		name      string
		got, want float64
	}{
		{"Contrast", got.Contrast, want.Contrast},
		{"Dissimilarity", got.Dissimilarity, want.Dissimilarity},
		{"Homogeneity", got.Homogeneity, want.Homogeneity},
		{"ASM", got.ASM, want.ASM},
		{"Energy", got.Energy, want.Energy},
		{"Entropy", got.Entropy, want.Entropy},
		{"Correlation", got.Correlation, want.Correlation},
	}
	for _, f := range fields {
		if !near(f.got, f.want) {
			t.Errorf("%s: %s = %.15g, want %.15g", name, f.name, f.got, f.want)
		}
	}
}

func TestFeatures(t *testing.T) {
	// Symmetric East matrix of the Haralick image, /24:
	//   4 2 1 0
	//   2 4 0 0
	//   1 0 6 1
	//   0 0 1 2
	// Marginal: 7,6,8,3 /24, so μ = 31/24 and σ² = 65/24 − μ² = 599/576;
	// Σ i·j·P = 58/24, so the covariance is 58/24 − μ² = 431/576.
	haralickEast := Features{
		Contrast:      (2*1*2 + 1*4*2 + 1*1*2) / 24.0,
		Dissimilarity: (2*1*2 + 1*2*2 + 1*1*2) / 24.0,
		Homogeneity:   (16 + 4.0/2 + 2.0/5 + 2.0/2) / 24,
		ASM:           84.0 / 576,
		Energy:        math.Sqrt(84.0 / 576),
		Entropy:       2*(4.0/24)*math.Log2(24.0/4) + 3*(2.0/24)*math.Log2(24.0/2) + 4*(1.0/24)*math.Log2(24) + (6.0/24)*math.Log2(24.0/6),
		Correlation:   431.0 / 599,
	}
	uniform := Features{Homogeneity: 1, ASM: 1, Energy: 1, Correlation: 1}
	// Every horizontal pair of a checkerboard is (0,1) or (1,0).
	checkerEast := Features{Contrast: 1, Dissimilarity: 1, Homogeneity: 0.5, ASM: 0.5, Energy: math.Sqrt(0.5), Entropy: 1, Correlation: -1}
	// Diagonal neighbours of a checkerboard are equal: uniform pairs of
	// two equally likely levels.
	checkerDiag := Features{Homogeneity: 1, ASM: 0.5, Energy: math.Sqrt(0.5), Entropy: 1, Correlation: 1}
	checker := [][]uint8{{0, 1, 0, 1}, {1, 0, 1, 0}, {0, 1, 0, 1}}

	tests := []struct {
		name string
		g    *GLCM
		want Features
	}{
		{"haralick east counts", Cooccurrence(mustRows(t, 4, haralick), East).Symmetric(), haralickEast},
		{"haralick east normalised", Cooccurrence(mustRows(t, 4, haralick), East).Symmetric().Normalized(), haralickEast},
		{"haralick west", Cooccurrence(mustRows(t, 4, haralick), Offset{0, -1}).Symmetric(), haralickEast},
		{"uniform", Cooccurrence(mustRows(t, 8, [][]uint8{{5, 5, 5}, {5, 5, 5}}), East).Symmetric(), uniform},
		{"checker east", Cooccurrence(mustRows(t, 2, checker), East).Symmetric(), checkerEast},
		{"checker south", Cooccurrence(mustRows(t, 2, checker), South).Symmetric(), checkerEast},
		{"checker south-east", Cooccurrence(mustRows(t, 2, checker), SouthEast).Symmetric(), checkerDiag},
		{"no pairs", Cooccurrence(mustRows(t, 4, haralick), Offset{0, 9}), Features{}},
	}
	for _, tt := range tests {
		checkFeatures(t, tt.name, tt.g.Features(), tt.want)
	}
}

func TestAnalyze(t *testing.T) {
	im := mustRows(t, 4, haralick)
	var fs []Features
	for _, off := range StandardOffsets() {
		fs = append(fs, Cooccurrence(im, off).Symmetric().Features())
	}
	checkFeatures(t, "Analyze()", Analyze(im), Mean(fs...))
	checkFeatures(t, "Analyze(East)", Analyze(im, East), Cooccurrence(im, East).Symmetric().Features())
	m := Mean(Features{Contrast: 1, Entropy: 2}, Features{Contrast: 3, Entropy: 4})
	if m.Contrast != 2 || m.Entropy != 3 {
		t.Errorf("Mean = %+v", m)
	}
	if m := Mean(); m != (Features{}) {
		t.Errorf("Mean() = %+v, want zero", m)
	}
}

func TestImage(t *testing.T) {
	if _, err := FromRows(4, [][]uint8{{0, 1}, {2}}); err == nil {
		t.Error("ragged rows: no error")
	}
	if _, err := FromRows(2, [][]uint8{{0, 2}}); err == nil {
		t.Error("level 2 in a 2-level image: no error")
	}
	if _, err := NewImage(2, 2, 4, []uint8{0, 1, 2}); err == nil {
		t.Error("3 pixels for 2x2: no error")
	}
	if _, err := NewImage(1, 1, 1, []uint8{0}); err == nil {
		t.Error("1 level: no error")
	}

	im := mustRows(t, 4, haralick)
	sub := im.Sub(image.Rect(1, 2, 4, 4))
	if got, want := sub.Bounds(), image.Rect(1, 2, 4, 4); got != want {
		t.Fatalf("Sub bounds = %v, want %v", got, want)
	}
	if sub.At(1, 2) != 2 || sub.At(3, 3) != 3 {
		t.Errorf("Sub pixels wrong: At(1,2)=%d At(3,3)=%d", sub.At(1, 2), sub.At(3, 3))
	}
	// The bottom-right 3×2 corner: rows {2,2,2},{2,3,3}.
	want := Cooccurrence(mustRows(t, 4, [][]uint8{{2, 2, 2}, {2, 3, 3}}), SouthWest)
	if got := Cooccurrence(sub, SouthWest); !slices.Equal(got.P, want.P) {
		t.Errorf("Cooccurrence of a Sub image = %v, want %v", matrix(got), matrix(want))
	}
	if !im.Sub(image.Rect(5, 5, 9, 9)).Bounds().Empty() {
		t.Error("Sub outside the image is not empty")
	}

	if n := im.NumTiles(2); n != 4 {
		t.Errorf("NumTiles(2) = %d, want 4", n)
	}
	for _, tt := range []struct {
		index int
		want  image.Rectangle
	}{
		{0, image.Rect(0, 0, 2, 2)}, {1, image.Rect(2, 0, 4, 2)}, {2, image.Rect(0, 2, 2, 4)},
		{3, image.Rect(2, 2, 4, 4)}, {4, image.Rect(0, 0, 2, 2)}, {-1, image.Rect(2, 2, 4, 4)},
	} {
		if got := im.TileRect(tt.index, 2); got != tt.want {
			t.Errorf("TileRect(%d, 2) = %v, want %v", tt.index, got, tt.want)
		}
	}
	if !im.TileRect(0, 5).Empty() {
		t.Error("TileRect larger than the image is not empty")
	}
}

func TestGenerate(t *testing.T) {
	for _, levels := range []int{16, 32} {
		a, err := Generate(1, 512, 512, levels)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Generate(1, 512, 512, levels)
		c, _ := Generate(2, 512, 512, levels)
		if !slices.Equal(a.pix, b.pix) {
			t.Errorf("levels %d: same seed, different images", levels)
		}
		if slices.Equal(a.pix, c.pix) {
			t.Errorf("levels %d: seeds 1 and 2 give the same image", levels)
		}
		// Every level is used (the grey range is stretched) and none exceeds.
		var hist [256]int
		for _, v := range a.pix {
			hist[v]++
		}
		for l := range 256 {
			if (hist[l] > 0) != (l < levels) {
				t.Errorf("levels %d: level %d used %d times", levels, l, hist[l])
			}
		}

		// Features of every 64×64 tile are in range, and tiles differ.
		seen := map[Features]bool{}
		n := a.NumTiles(64)
		if n != 64 {
			t.Fatalf("NumTiles(64) = %d, want 64", n)
		}
		for i := range n {
			f := Analyze(a.Sub(a.TileRect(i, 64)))
			maxEntropy := 2 * math.Log2(float64(levels))
			switch {
			case !(f.Energy > 0 && f.Energy <= 1), !(f.ASM > 0 && f.ASM <= 1),
				!(f.Homogeneity > 0 && f.Homogeneity <= 1),
				!(f.Contrast >= 0), !(f.Dissimilarity >= 0),
				!(f.Entropy >= 0 && f.Entropy <= maxEntropy),
				!(f.Correlation >= -1-1e-9 && f.Correlation <= 1+1e-9),
				f.Dissimilarity*f.Dissimilarity > f.Contrast+1e-9: // Jensen
				t.Errorf("levels %d tile %d: features out of range: %v", levels, i, f)
			}
			seen[f] = true
		}
		if len(seen) < n {
			t.Errorf("levels %d: only %d distinct feature sets among %d tiles", levels, len(seen), n)
		}
	}
	if _, err := Generate(1, 0, 10, 16); err == nil {
		t.Error("width 0: no error")
	}
	if _, err := Generate(1, 10, 10, 300); err == nil {
		t.Error("300 levels: no error")
	}
}

func BenchmarkAnalyzeTile(b *testing.B) {
	im, _ := Generate(1, 512, 512, 16)
	i := 0
	for b.Loop() {
		Analyze(im.Sub(im.TileRect(i, 64)))
		i++
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		Generate(1, 512, 512, 16)
	}
}
