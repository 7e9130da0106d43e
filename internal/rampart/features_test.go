package rampart

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFeatureChanges(t *testing.T) {
	good := map[string]map[Feature]bool{
		"ai=off":             {FeatureAI: false},
		"ai=off,chat=on":     {FeatureAI: false, FeatureChat: true},
		" AI = Off , chat=1": {FeatureAI: false, FeatureChat: true},
		"chat=disabled":      {FeatureChat: false},
	}
	for in, want := range good {
		got, err := ParseFeatureChanges(in)
		if err != nil || len(got) != len(want) {
			t.Errorf("%q: %v, %v", in, got, err)
			continue
		}
		for f, v := range want {
			if got[f] != v {
				t.Errorf("%q: %s = %v, want %v", in, f, got[f], v)
			}
		}
	}
	bad := map[string]string{
		"":                "at least one",
		"billing=off":     `unknown flag "billing"`,
		"ai":              "not flag=on|off",
		"=off":            "not flag=on|off",
		"ai=maybe":        "must be on or off",
		"ai=off,ai=on":    "given twice",
		"ai=off,,chat=on": "not flag=on|off",
	}
	for in, want := range bad {
		_, err := ParseFeatureChanges(in)
		if ErrorKind(err) != KindInvalid || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("%q: %v, want KindInvalid mentioning %q", in, err, want)
		}
	}
}

func TestOrgFeaturesRequire(t *testing.T) {
	all := DefaultFeatures()
	for _, f := range AllFeatures {
		if err := all.Require("op", f); err != nil {
			t.Errorf("defaults refuse %s: %v", f, err)
		}
	}
	cases := []struct {
		flags   OrgFeatures
		need    Feature
		off     Feature
		mention string
	}{
		{OrgFeatures{AI: false, Chat: true, Reason: "contract paused"}, FeatureAI, FeatureAI, "contract paused"},
		{OrgFeatures{AI: false, Chat: true}, FeatureChat, FeatureAI, "chat needs it"},
		{OrgFeatures{AI: true, Chat: false}, FeatureChat, FeatureChat, "platform operator"},
	}
	for _, c := range cases {
		err := c.flags.Require("op", c.need)
		var off *FeatureOff
		if ErrorKind(err) != KindFeatureDisabled || !errors.As(err, &off) || off.Feature != c.off ||
			!strings.Contains(ErrorMessage(err), c.mention) {
			t.Errorf("%+v need %s: %v, want feature_disabled naming %s and %q", c.flags, c.need, err, c.off, c.mention)
		}
	}
	if err := (OrgFeatures{AI: true, Chat: false}).Require("op", FeatureAI); err != nil {
		t.Errorf("chat off refuses ai: %v", err)
	}
}
