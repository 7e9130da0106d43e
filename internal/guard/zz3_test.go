package guard

import ("testing";"fmt";"strings")

func TestZZCount(t *testing.T) {
	s := zzText()
	forms := [3]string{plainForm(s), "", s}
	forms[1] = squashedForm(forms[0])
	for i, p := range patterns.patterns {
		n := 0
		for _, w := range p.words { n += len(strings.Fields(" "+strings.Map(func(r rune) rune { if r < 'a' || r > 'z' { return ' ' }; return r }, forms[0])+" ")) * 0; n += strings.Count(" "+forms[0]+" ", " "+w+" ") }
		for _, w := range p.subs { n += strings.Count(forms[p.form], w) }
		if n > 20 { fmt.Println(i, ruleNames[p.rule], p.words, p.subs, n, p.needs) }
	}
}
