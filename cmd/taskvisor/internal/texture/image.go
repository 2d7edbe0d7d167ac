// Package texture computes grey-level co-occurrence matrices (GLCM) and the
// Haralick texture features derived from them, on small quantised greyscale
// images. It is the real work done by taskvisor's demo worker: a deterministic
// generated image is cut into tiles and the features of one tile are computed
// per step.
//
// Conventions follow scikit-image's graycomatrix and graycoprops: an Offset is
// given as (row, column), the pixel at (r, c) is the reference and the pixel at
// (r+Row, c+Col) its neighbour, and entry (i, j) of a matrix counts the pairs
// whose reference has grey level i and whose neighbour has grey level j.
package texture

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
)

// Image is a greyscale image whose pixels are grey levels in [0, Levels()).
// An Image made by Sub shares its pixels with the image it was cut from.
// Images are immutable once made, so they may be used by several goroutines.
type Image struct {
	rect   image.Rectangle // bounds; Min is usually (0,0) except for Sub images
	stride int             // distance in pix between vertically adjacent pixels
	levels int
	pix    []uint8 // pix[0] is the pixel at rect.Min
}

// NewImage returns a width×height image of the given number of grey levels
// (2 to 256) whose pixels, row by row, are pix. It checks that pix has exactly
// width*height values, each below levels; pix is not copied.
func NewImage(width, height, levels int, pix []uint8) (*Image, error) {
	switch {
	case width <= 0 || height <= 0:
		return nil, fmt.Errorf("texture: image size %dx%d is not positive", width, height)
	case levels < 2 || levels > 256:
		return nil, fmt.Errorf("texture: %d grey levels, want 2 to 256", levels)
	case len(pix) != width*height:
		return nil, fmt.Errorf("texture: %d pixels for a %dx%d image", len(pix), width, height)
	}
	for i, v := range pix {
		if int(v) >= levels {
			return nil, fmt.Errorf("texture: pixel (%d,%d) has grey level %d, want < %d", i%width, i/width, v, levels)
		}
	}
	return &Image{rect: image.Rect(0, 0, width, height), stride: width, levels: levels, pix: pix}, nil
}

// FromRows returns the image whose rows are rows, which must all have the same
// length. It is convenient for small literal images in tests and examples.
func FromRows(levels int, rows [][]uint8) (*Image, error) {
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, errors.New("texture: empty image")
	}
	w := len(rows[0])
	pix := make([]uint8, 0, w*len(rows))
	for y, row := range rows {
		if len(row) != w {
			return nil, fmt.Errorf("texture: row %d has %d pixels, row 0 has %d", y, len(row), w)
		}
		pix = append(pix, row...)
	}
	return NewImage(w, len(rows), levels, pix)
}

// Bounds returns the image's rectangle. It starts at (0,0) for an image made by
// NewImage, FromRows or Generate, and at the cut's corner for a Sub image.
func (im *Image) Bounds() image.Rectangle { return im.rect }

// Levels returns the number of grey levels.
func (im *Image) Levels() int { return im.levels }

// At returns the grey level of the pixel in column x and row y; (x, y) must be
// inside Bounds.
func (im *Image) At(x, y int) uint8 {
	if !(image.Point{x, y}.In(im.rect)) {
		panic(fmt.Sprintf("texture: pixel (%d,%d) outside %v", x, y, im.rect))
	}
	return im.pix[(y-im.rect.Min.Y)*im.stride+(x-im.rect.Min.X)]
}

// Sub returns the part of the image inside r, sharing its pixels. The result
// keeps the coordinates of im, and may be empty.
func (im *Image) Sub(r image.Rectangle) *Image {
	r = r.Intersect(im.rect)
	sub := &Image{rect: r, stride: im.stride, levels: im.levels}
	if !r.Empty() {
		sub.pix = im.pix[(r.Min.Y-im.rect.Min.Y)*im.stride+(r.Min.X-im.rect.Min.X):]
	}
	return sub
}

// NumTiles returns how many whole size×size tiles the image holds.
func (im *Image) NumTiles(size int) int {
	if size <= 0 {
		return 0
	}
	return (im.rect.Dx() / size) * (im.rect.Dy() / size)
}

// TileRect returns the rectangle of tile index of size×size, counting whole
// tiles row by row from the top left. The index wraps around, so any index
// (also a negative one) names a tile; the result is empty when the image holds
// no whole tile.
func (im *Image) TileRect(index, size int) image.Rectangle {
	n := im.NumTiles(size)
	if n == 0 {
		return image.Rectangle{}
	}
	index %= n
	if index < 0 {
		index += n
	}
	perRow := im.rect.Dx() / size
	x := im.rect.Min.X + (index%perRow)*size
	y := im.rect.Min.Y + (index/perRow)*size
	return image.Rect(x, y, x+size, y+size)
}

// Generate returns a deterministic width×height test image of the given number
// of grey levels (2 to 256): a sum of plane waves of different orientations and
// wavelengths, each faded in and out over the image by a slow envelope, plus
// Gaussian noise that grows from left to right, scaled to the full grey range
// and quantised. The same arguments always give the same image, and different
// parts of it have clearly different textures.
func Generate(seed uint64, width, height, levels int) (*Image, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("texture: image size %dx%d is not positive", width, height)
	}
	if levels < 2 || levels > 256 {
		return nil, fmt.Errorf("texture: %d grey levels, want 2 to 256", levels)
	}
	rng := rand.New(rand.NewPCG(seed, 0x7465787475726531)) // "texture1"

	type wave struct {
		kx, ky, phase  float64 // the wave
		ex, ey, ephase float64 // its envelope
		amp            float64
	}
	size := float64(max(width, height))
	waves := make([]wave, 7)
	for i := range waves {
		theta := rng.Float64() * math.Pi
		wavelength := 3 + rng.Float64()*45 // pixels
		k := 2 * math.Pi / wavelength
		etheta := rng.Float64() * 2 * math.Pi
		ek := 2 * math.Pi * (0.5 + rng.Float64()*1.5) / size // 0.5 to 2 periods per image
		waves[i] = wave{
			kx: k * math.Cos(theta), ky: k * math.Sin(theta), phase: rng.Float64() * 2 * math.Pi,
			ex: ek * math.Cos(etheta), ey: ek * math.Sin(etheta), ephase: rng.Float64() * 2 * math.Pi,
			amp: 0.5 + rng.Float64(),
		}
	}

	// sin(a·x + b·y + φ) = sin(a·x)·cos(b·y+φ) + cos(a·x)·sin(b·y+φ): tables
	// per column and per row instead of a sine per pixel.
	type table struct{ sin, cos []float64 }
	tab := func(n int, k, phase float64) table {
		t := table{make([]float64, n), make([]float64, n)}
		for i := range n {
			t.sin[i], t.cos[i] = math.Sincos(k*float64(i) + phase)
		}
		return t
	}
	var wx, wy, ex, ey []table
	for _, w := range waves {
		wx, wy = append(wx, tab(width, w.kx, 0)), append(wy, tab(height, w.ky, w.phase))
		ex, ey = append(ex, tab(width, w.ex, 0)), append(ey, tab(height, w.ey, w.ephase))
	}

	vals := make([]float64, width*height)
	lo, hi := math.Inf(1), math.Inf(-1)
	for y := range height {
		for x := range width {
			v := 0.0
			for i, w := range waves {
				env := 0.5 + 0.5*(ex[i].sin[x]*ey[i].cos[y]+ex[i].cos[x]*ey[i].sin[y])
				v += w.amp * env * env * (wx[i].sin[x]*wy[i].cos[y] + wx[i].cos[x]*wy[i].sin[y])
			}
			v += rng.NormFloat64() * (0.05 + 0.6*float64(x)/float64(width))
			vals[y*width+x] = v
			lo, hi = min(lo, v), max(hi, v)
		}
	}

	pix := make([]uint8, len(vals))
	scale := float64(levels) / (hi - lo)
	if hi == lo {
		scale = 0
	}
	for i, v := range vals {
		pix[i] = uint8(min(levels-1, int((v-lo)*scale)))
	}
	return &Image{rect: image.Rect(0, 0, width, height), stride: width, levels: levels, pix: pix}, nil
}
