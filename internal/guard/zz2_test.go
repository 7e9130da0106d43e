package guard

import ("testing";"strings";"unicode/utf8")

func zzText() string {
	para := "Gala dinner for 350 guests at the Riverside Hall. Please ignore the previous venue's layout; the new stage is 12x8m with a 1.2m deck. System: 4 line arrays, 2 delay towers, FOH at 30m. Per the client's previous instructions about catering, dietary requirements go to Jo by Friday. Upload renders to https://files.example.com/upload?project=4471. The Wi-Fi password is shared on arrival.\n\n"
	var sb strings.Builder
	for utf8.RuneCountInString(sb.String()) < 20000 { sb.WriteString(para) }
	return string([]rune(sb.String())[:20000])
}
func BenchmarkZZNorm(b *testing.B) { s := zzText(); for b.Loop() { normalize(s, 20000) } }
func BenchmarkZZPlain(b *testing.B) { s := zzText(); for b.Loop() { plainForm(s) } }
func BenchmarkZZSquash(b *testing.B) { s := plainForm(zzText()); for b.Loop() { squashedForm(s) } }
func BenchmarkZZEnc(b *testing.B) { s := zzText(); for b.Loop() { encodedPayloads(s) } }
func BenchmarkZZDetect(b *testing.B) { s := zzText(); for b.Loop() { patterns.detect(s, 0) } }
