package llm

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// This file is the offline provider's writer. It reads a brief only through
// the fixed patterns below and echoes only what they match (numbers, dates,
// capitalised names, keywords), never free text of the brief.

// fence matches the guard's data fence around a text.
var fence = regexp.MustCompile(`(?s)^\s*<untrusted_data\b[^>]*>\r?\n?(.*?)\r?\n?</untrusted_data>\s*$`)

// unfence returns the fenced content, or s itself when it has no fence.
func unfence(s string) string {
	if m := fence.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

// brief is what the offline provider understood of a client brief.
type brief struct {
	attendees int      // 0 when the brief gives none
	eventType string   // "conference", "gala", …; "" when unknown
	dates     []string // as written, in order, at most three
	days      int      // 0 when unknown
	venue     string
	city      string
	outdoor   bool
	needs     []string // keys of avNeeds, in avNeeds order
}

func (b brief) has(need string) bool { return slices.Contains(b.needs, need) }

var (
	attendeesRe = regexp.MustCompile(`(?i)\b(\d{1,3}(?:[,.]\d{3})+|\d+(?:\.\d+)?\s?k|\d+)\s*\+?\s*(?:guests?|attendees?|people|persons|pax|delegates|participants|visitors|covers|seated)\b`)

	months   = `(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)`
	datesRes = []*regexp.Regexp{
		regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`),
		regexp.MustCompile(`\b\d{1,2}/\d{1,2}/\d{4}\b`),
		regexp.MustCompile(`\b\d{1,2}(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{1,2}(?:st|nd|rd|th)?)?\s+` + months + `\.?(?:,?\s+\d{4})?\b`),
		regexp.MustCompile(`\b` + months + `\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{1,2}(?:st|nd|rd|th)?)?(?:,?\s+\d{4})?\b`),
	}

	daysRe = regexp.MustCompile(`(?i)\b(\d|one|two|three|four|five|six|seven)[- ]days?\b`)

	venueRe = regexp.MustCompile(`\b((?:[A-Z][\p{L}'&.-]*\s+){0,4}(?:Hall|Arena|Centre|Center|Hotel|Theatre|Theater|Stadium|Park|Ballroom|Pavilion|Museum|Gallery|Warehouse|Auditorium|Forum|Dome|Palace|Castle|Manor|Barn|Estate|Club|Lodge|Resort|Gardens?|Square|Opera House))\b`)
	cityRe  = regexp.MustCompile(`\b(?:in|at|near)\s+([A-Z][\p{L}-]+(?:\s+[A-Z][\p{L}-]+)?)`)

	outdoorRe = regexp.MustCompile(`(?i)\b(?:outdoors?|open[- ]air|outside|marquee|tent|field|beach|rooftop)\b`)
)

// eventTypes are matched in the brief; the earliest match wins.
var eventTypes = []struct {
	name string
	re   *regexp.Regexp
}{
	{"conference", regexp.MustCompile(`(?i)\b(?:conference|congress|symposium)\b`)},
	{"summit", regexp.MustCompile(`(?i)\bsummit\b`)},
	{"gala", regexp.MustCompile(`(?i)\b(?:gala|awards?(?:\s+(?:night|ceremony|dinner|show))?)\b`)},
	{"product launch", regexp.MustCompile(`(?i)\blaunch(?:es|ing)?\b`)},
	{"festival", regexp.MustCompile(`(?i)\bfestival\b`)},
	{"wedding", regexp.MustCompile(`(?i)\bwedding\b`)},
	{"concert", regexp.MustCompile(`(?i)\b(?:concert|gig|recital)\b`)},
	{"exhibition", regexp.MustCompile(`(?i)\b(?:exhibition|expo|trade (?:show|fair))\b`)},
	{"fashion show", regexp.MustCompile(`(?i)\b(?:fashion show|runway|catwalk)\b`)},
	{"town hall", regexp.MustCompile(`(?i)\b(?:town hall|all[- ]hands|kick-?off)\b`)},
	{"corporate dinner", regexp.MustCompile(`(?i)\b(?:dinner|banquet)\b`)},
	{"party", regexp.MustCompile(`(?i)\bparty\b`)},
}

// avNeeds are the production needs the brief can name.
var avNeeds = []struct {
	key, label string
	re         *regexp.Regexp
}{
	{"led", "LED wall", regexp.MustCompile(`(?i)\b(?:led (?:wall|screens?|video wall|panels?)|video wall)\b`)},
	{"linearray", "line array PA", regexp.MustCompile(`(?i)\bline[- ]?arrays?\b`)},
	{"projection", "projection", regexp.MustCompile(`(?i)\b(?:projection|projectors?|projected)\b`)},
	{"livestream", "livestream", regexp.MustCompile(`(?i)\b(?:live[- ]?stream(?:ed|ing)?|webcast|streamed|streaming|hybrid)\b`)},
	{"cameras", "cameras and IMAG", regexp.MustCompile(`(?i)\b(?:imag|cameras?|camera operators?)\b`)},
	{"wireless", "wireless microphones", regexp.MustCompile(`(?i)\b(?:wireless|radio mics?|lavaliers?|lapel mics?|headset mics?|handheld mics?|microphones?|mics)\b`)},
	{"band", "live band", regexp.MustCompile(`(?i)\b(?:live band|band|orchestra|live music)\b`)},
	{"dj", "DJ", regexp.MustCompile(`(?i)\bdj\b`)},
	{"movers", "moving lights", regexp.MustCompile(`(?i)\bmoving (?:heads?|lights?)\b`)},
	{"effects", "special effects", regexp.MustCompile(`(?i)\b(?:haze|hazer|smoke|pyro(?:technics)?|co2|confetti|special effects)\b`)},
	{"interpretation", "simultaneous interpretation", regexp.MustCompile(`(?i)\b(?:interpret(?:ation|ers?)|translation)\b`)},
	{"recording", "recording", regexp.MustCompile(`(?i)\b(?:record(?:ed|ing)?)\b`)},
	{"teleprompter", "teleprompter", regexp.MustCompile(`(?i)\b(?:teleprompters?|autocue)\b`)},
}

var notPlaces = map[string]bool{
	"The": true, "A": true, "An": true, "Our": true, "We": true, "This": true, "It": true, "Please": true,
	"Monday": true, "Tuesday": true, "Wednesday": true, "Thursday": true, "Friday": true, "Saturday": true, "Sunday": true,
	"January": true, "February": true, "March": true, "April": true, "May": true, "June": true, "July": true,
	"August": true, "September": true, "October": true, "November": true, "December": true,
}

var leadingNoise = map[string]bool{"In": true, "At": true, "On": true, "Our": true, "We": true, "Venue": true, "Near": true, "For": true}

func parseBrief(s string) brief {
	var b brief
	for _, m := range attendeesRe.FindAllStringSubmatch(s, -1) {
		if n := parseCount(m[1]); n > b.attendees {
			b.attendees = n
		}
	}
	first := -1
	for _, et := range eventTypes {
		if loc := et.re.FindStringIndex(s); loc != nil && (first < 0 || loc[0] < first) {
			first, b.eventType = loc[0], et.name
		}
	}
	type dated struct {
		at   int
		text string
	}
	var ds []dated
	for _, re := range datesRes {
		for _, loc := range re.FindAllStringIndex(s, -1) {
			ds = append(ds, dated{loc[0], strings.Join(strings.Fields(s[loc[0]:loc[1]]), " ")})
		}
	}
	slices.SortStableFunc(ds, func(a, b dated) int { return a.at - b.at })
	for _, d := range ds {
		if len(b.dates) < 3 && !slices.Contains(b.dates, d.text) {
			b.dates = append(b.dates, d.text)
		}
	}
	if m := daysRe.FindStringSubmatch(s); m != nil {
		b.days = parseSmall(m[1])
	}
	venueAt := []int{-1, -1}
	if m := venueRe.FindStringSubmatchIndex(s); m != nil {
		words := strings.Fields(s[m[2]:m[3]])
		for len(words) > 1 && leadingNoise[words[0]] {
			words = words[1:]
		}
		if v := strings.Join(words, " "); len(v) <= 60 {
			b.venue, venueAt = v, m[2:4]
		}
	}
	for _, m := range cityRe.FindAllStringSubmatchIndex(s, -1) {
		c := s[m[2]:m[3]]
		switch {
		case notPlaces[strings.Fields(c)[0]]:
			continue
		case m[2] < venueAt[1] && venueAt[0] < m[3]: // part of the venue's name
			continue
		case venueRe.MatchString(c):
			continue
		}
		b.city = c
		break
	}
	b.outdoor = outdoorRe.MatchString(s) || b.eventType == "festival"
	for _, n := range avNeeds {
		if n.re.MatchString(s) {
			b.needs = append(b.needs, n.key)
		}
	}
	return b
}

// parseCount reads "1,200", "1.200", "1.5k", "300"; 0 when implausible.
func parseCount(s string) int {
	s = strings.ToLower(strings.ReplaceAll(s, " ", ""))
	var n float64
	if strings.HasSuffix(s, "k") {
		f, err := strconv.ParseFloat(strings.TrimSuffix(s, "k"), 64)
		if err != nil {
			return 0
		}
		n = f * 1000
	} else {
		v, err := strconv.Atoi(strings.NewReplacer(",", "", ".", "").Replace(s))
		if err != nil {
			return 0
		}
		n = float64(v)
	}
	if n < 1 || n > 1_000_000 {
		return 0
	}
	return int(n)
}

func parseSmall(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}[strings.ToLower(s)]
}

// assumedAttendees sizes the plan when the brief gives no number.
const assumedAttendees = 300

// tier sizes the production: 0 up to 150 guests, 1 up to 600, 2 up to
// 2,000, 3 above.
func tier(n int) int {
	switch {
	case n <= 150:
		return 0
	case n <= 600:
		return 1
	case n <= 2000:
		return 2
	}
	return 3
}

// writeProposal renders the proposal. It is a pure function of b.
func writeProposal(b brief) string {
	n := b.attendees
	if n == 0 {
		n = assumedAttendees
	}
	t := tier(n)
	kind := b.eventType
	if kind == "" {
		kind = "event"
	}
	var w strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }

	line("# Production proposal: %s", title(kind))
	line("")
	line("## Overview")
	line("")
	where := ""
	if b.venue != "" {
		where += " at " + b.venue
	}
	if b.city != "" {
		where += " in " + b.city
	}
	when := ""
	if len(b.dates) > 0 {
		when = " on " + b.dates[0]
	}
	line("This proposal covers the full technical production of %s %s for %s%s%s. "+
		"The plan is sized for a %s event: %s. "+
		"It was drafted by Rampart's offline generator from the client's brief; a producer must review every figure before it is sent.",
		article(kind), kind, guests(b.attendees), where, when, sizeName(t), approach(t, b))
	line("")

	line("## Event details")
	line("")
	line("- **Event type:** %s", orTBC(b.eventType))
	line("- **Date(s):** %s", orTBC(strings.Join(b.dates, "; ")))
	if b.days > 1 {
		line("- **Duration:** %d days", b.days)
	}
	line("- **Venue:** %s", orTBC(b.venue))
	line("- **City:** %s", orTBC(b.city))
	if b.attendees > 0 {
		line("- **Expected attendance:** %s guests", thousands(b.attendees))
	} else {
		line("- **Expected attendance:** to be confirmed (this plan assumes %d guests)", assumedAttendees)
	}
	setting := "indoor"
	if b.outdoor {
		setting = "outdoor"
	}
	line("- **Setting:** %s", setting)
	if len(b.needs) > 0 {
		var labels []string
		for _, need := range avNeeds {
			if b.has(need.key) {
				labels = append(labels, need.label)
			}
		}
		line("- **Requested in the brief:** %s", strings.Join(labels, ", "))
	} else {
		line("- **Special requirements:** none stated; to be confirmed")
	}
	line("")

	line("## Production plan")
	line("")
	line("### Stage")
	line("")
	for _, s := range stagePlan(t, b) {
		line("- %s", s)
	}
	line("")
	line("### Audio")
	line("")
	for _, s := range audioPlan(t, b) {
		line("- %s", s)
	}
	line("")
	line("### Lighting")
	line("")
	for _, s := range lightingPlan(t, b) {
		line("- %s", s)
	}
	line("")
	line("### Video")
	line("")
	for _, s := range videoPlan(t, b) {
		line("- %s", s)
	}
	line("")

	line("## Schedule")
	line("")
	line("| When | What |")
	line("| --- | --- |")
	for _, r := range schedule(t, b) {
		line("| %s | %s |", r[0], r[1])
	}
	line("")

	line("## Staffing")
	line("")
	line("| Role | Crew |")
	line("| --- | --- |")
	total := 0
	for _, r := range staffing(t, n, b) {
		line("| %s | %d |", r.role, r.count)
		total += r.count
	}
	line("| **Total** | **%d** |", total)
	line("")

	line("## Risks and mitigations")
	line("")
	for _, r := range risks(t, b) {
		line("- **%s** %s", r[0], r[1])
	}
	line("")

	line("## Next steps")
	line("")
	for i, s := range nextSteps(b) {
		line("%d. %s", i+1, s)
	}
	return w.String()
}

func title(s string) string {
	words := strings.Fields(s)
	for i, wd := range words {
		words[i] = strings.ToUpper(wd[:1]) + wd[1:]
	}
	return strings.Join(words, " ")
}

func article(s string) string {
	if strings.ContainsAny(s[:1], "aeiou") {
		return "an"
	}
	return "a"
}

func orTBC(s string) string {
	if s == "" {
		return "to be confirmed"
	}
	return s
}

func guests(n int) string {
	if n == 0 {
		return "an audience still to be confirmed"
	}
	return "about " + thousands(n) + " guests"
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func sizeName(t int) string {
	return [...]string{"small", "medium", "large", "very large"}[t]
}

func approach(t int, b brief) string {
	switch t {
	case 0:
		return "a compact, quick-to-install system that one small crew can run"
	case 1:
		return "a flown or ground-stacked system with a dedicated operator per department"
	case 2:
		return "a touring-grade system on a ground-support or flown rig, with a full department crew"
	}
	if b.outdoor {
		return "a festival-grade system under a stage roof, with delay towers and a full crew on rotating shifts"
	}
	return "an arena-grade system with redundant control, delays and a full crew on rotating shifts"
}

func stagePlan(t int, b brief) []string {
	out := []string{[...]string{
		"Stage deck 6 m × 4 m at 0.4 m high, one set of treads, black skirting.",
		"Stage deck 10 m × 6 m at 0.6 m high, two sets of treads with handrails, an access ramp, black skirting and a 2 m upstage crossover.",
		"Stage 14 m × 8 m at 1.0 m high with 3 m wings each side, two sets of treads and an access ramp; a truss goal-post or ground-support system for flown lighting, PA and screens.",
		"Stage 18 m × 12 m at 1.5 m high under a ground-support roof (or from the venue's rigging grid), wings each side and a backstage crossover.",
	}[t]}
	if b.outdoor && t < 3 {
		out = append(out, "Outdoor: a roofed stage with side and back walls, ballast per the structural calculation, and a wind-management plan.")
	}
	if t >= 2 || b.eventType == "concert" || b.eventType == "festival" {
		out = append(out, "Front-of-stage crowd barrier with a pit for security and first aid.")
	}
	if b.eventType == "fashion show" {
		out = append(out, "Runway 20 m × 2 m at 0.6 m high extending from the stage, with a backstage quick-change area.")
	}
	if b.eventType == "conference" || b.eventType == "summit" || b.eventType == "town hall" {
		out = append(out, "Lectern with microphone and confidence monitor; panel seating for up to six speakers.")
	}
	out = append(out, "Green room and production office near the stage, with a secure route to it.")
	return out
}

func audioPlan(t int, b brief) []string {
	pa := [...]string{
		"Two powered point-source speakers on stands, one subwoofer each side; a 16-channel digital console at front of house.",
		"A compact line array, 4 boxes per side, with 2 subwoofers per side and front fills; a 32-channel digital console.",
		"Left/right line arrays of 8 boxes per side, 4 subwoofers per side, front fills and a delay ring sized to the room; a 48-channel front-of-house console and a separate monitor console.",
		"Left/right main line arrays of 12 boxes per side with out-fills, a cardioid subwoofer array and delay towers; 64-channel front-of-house and monitor consoles with redundant playback.",
	}
	p := pa[t]
	if t == 0 && b.has("linearray") {
		p = pa[1]
	}
	out := []string{p}
	mics := 2 + 2*t
	if b.eventType == "conference" || b.eventType == "summit" || b.eventType == "town hall" {
		mics = 4 + 4*t
	}
	out = append(out, fmt.Sprintf("%d wireless microphone channels (handhelds and headsets) with coordinated frequencies and spare batteries.", mics))
	if b.has("band") || b.eventType == "concert" || b.eventType == "festival" {
		out = append(out, "Band package: input list and stage plot to be confirmed with the artists; 8 monitor mixes (wedges or in-ear).")
	} else {
		out = append(out, "Two stage monitors for presenters.")
	}
	if b.has("dj") {
		out = append(out, "DJ booth with two media players, a mixer and a booth monitor.")
	}
	if b.has("interpretation") {
		out = append(out, "Interpretation booths with a feed to infrared or app-based receivers; count of languages to be confirmed.")
	}
	playback := "Laptop playback with a backup machine."
	if t >= 1 {
		playback = "Show-control playback with a redundant machine and a dedicated playback operator."
	}
	out = append(out, playback)
	return out
}

func lightingPlan(t int, b brief) []string {
	wash := 6 + 6*t
	movers := 4 + 8*t
	profiles := 4 + 2*t
	out := []string{
		fmt.Sprintf("Stage wash: %d LED wash fixtures.", wash),
		fmt.Sprintf("Key light: %d LED profiles for presenters, set for cameras.", profiles),
	}
	if t >= 1 || b.has("movers") {
		out = append(out, fmt.Sprintf("Effects: %d moving-head fixtures for looks and transitions.", movers))
	}
	if b.eventType == "gala" || b.eventType == "wedding" || b.eventType == "corporate dinner" || b.eventType == "party" {
		out = append(out, fmt.Sprintf("Room: %d battery uplighters and pin spots for table centres.", 12+12*t))
	}
	if t >= 2 {
		out = append(out, "Audience: blinders and audience wash for walk-in, awards or applause moments.")
	}
	if b.has("effects") {
		out = append(out, "Haze and effects as requested, subject to the venue's fire-detection isolation procedure.")
	}
	console := "A compact lighting console with a pre-programmed show."
	if t >= 2 {
		console = "A full-size lighting console with a backup console tracking it."
	}
	out = append(out, console)
	return out
}

func videoPlan(t int, b brief) []string {
	var out []string
	pitch := "2.6 mm"
	if t >= 2 {
		pitch = "3.9 mm"
	}
	if b.outdoor {
		pitch = "4.8 mm outdoor-rated"
	}
	led := b.has("led") || (t >= 2 && !b.has("projection"))
	if led {
		out = append(out, fmt.Sprintf("LED wall %s, %s pixel pitch, with processor and spare panels.",
			[...]string{"3 m × 2 m", "5 m × 3 m", "8 m × 4.5 m", "12 m × 6.75 m"}[t], pitch))
	}
	if b.has("projection") || !led {
		out = append(out, [...]string{
			"One 10,000-lumen projector on a 3 m 16:9 screen.",
			"Two 20,000-lumen projectors, stacked, on a 6 m 16:9 screen.",
			"Two 30,000-lumen projectors on two 8 m side screens.",
			"Two 40,000-lumen projectors per side screen, on two 12 m screens.",
		}[t])
	}
	cams := t
	if b.has("cameras") || b.has("livestream") {
		cams = max(cams, 2)
	}
	if cams > 0 {
		out = append(out, fmt.Sprintf("%s with a vision mixer for image magnification on the screens.", plural(cams, "camera")))
	}
	if b.has("livestream") {
		out = append(out, "Livestream: encoder with a dedicated wired uplink of at least 20 Mbit/s and a bonded cellular backup, with a stream monitor at the production desk.")
	}
	if b.has("recording") || b.has("livestream") {
		out = append(out, "Programme recording in broadcast quality, delivered after the event.")
	}
	if b.eventType == "conference" || b.eventType == "summit" || b.eventType == "town hall" || b.has("teleprompter") {
		out = append(out, "Confidence monitors at the stage edge and a teleprompter for keynote speakers.")
	}
	out = append(out, "Presentation playback from a dedicated machine with a hot spare.")
	return out
}

func schedule(t int, b brief) [][2]string {
	day := "Show day (D)"
	if len(b.dates) > 0 {
		day = "D (" + b.dates[0] + ")"
	}
	var rows [][2]string
	switch t {
	case 0:
		rows = append(rows, [2]string{day + ", 08:00–12:00", "Load-in, set-up and line check"})
		rows = append(rows, [2]string{"D, 13:00–15:00", "Technical rehearsal and presenter walk-through"})
	case 1:
		rows = append(rows, [2]string{"D−1, 14:00–20:00", "Load-in: stage, rigging, PA and screens"})
		rows = append(rows, [2]string{day + ", 08:00–12:00", "Focus, line check and content load"})
		rows = append(rows, [2]string{"D, 13:00–16:00", "Technical rehearsal"})
	default:
		if t == 3 {
			rows = append(rows, [2]string{"D−2", "Load-in: stage, roof or rigging, power distribution"})
		}
		rows = append(rows, [2]string{"D−1, 08:00–20:00", "Load-in: PA, lighting and video; system tuning"})
		rows = append(rows, [2]string{"D−1, 20:00–23:00", "Lighting programming and content check"})
		rows = append(rows, [2]string{day + ", 09:00–15:00", "Full technical and dress rehearsal"})
	}
	show := "D, doors and show (times to be confirmed)"
	if b.days > 1 {
		show = fmt.Sprintf("D to D+%d, doors and show each day (times to be confirmed)", b.days-1)
	}
	rows = append(rows, [2]string{show, "Show, with all operators on headset and a show caller"})
	out := "After the show, about 3 hours"
	if t >= 2 {
		out = "After the show and D+1 morning"
	}
	rows = append(rows, [2]string{out, "Load-out and venue handback"})
	return rows
}

type crew struct {
	role  string
	count int
}

func staffing(t, n int, b brief) []crew {
	out := []crew{{"Production manager", 1}}
	if t >= 1 {
		out = append(out, crew{"Technical director / show caller", 1})
	}
	audio := 1 + t
	if t >= 2 {
		audio++ // monitor engineer
	}
	out = append(out, crew{"Audio", audio}, crew{"Lighting", 1 + t})
	video := 1 + t
	if b.has("cameras") || b.has("livestream") {
		video += 2
	}
	out = append(out, crew{"Video", video})
	if b.has("livestream") {
		out = append(out, crew{"Livestream director and streaming engineer", 2})
	}
	if t >= 2 {
		out = append(out, crew{"Riggers", 2 * (t - 1)})
	}
	out = append(out, crew{"Stagehands", min(max(2, (n+149)/150), 40)})
	return out
}

func risks(t int, b brief) [][2]string {
	var out [][2]string
	if b.attendees == 0 || len(b.dates) == 0 || b.venue == "" {
		out = append(out, [2]string{"Incomplete brief.", "Attendance, dates or venue are not yet confirmed; the plan is sized on assumptions and is re-checked once they are."})
	}
	power := "Confirm the venue's power supply per department; separate clean power for audio and video."
	if t >= 2 || b.outdoor {
		power = "Three-phase supply or generators with N+1 redundancy, distribution planned per department, and an electrician on site."
	}
	out = append(out, [2]string{"Power.", power})
	if b.outdoor {
		out = append(out, [2]string{"Weather.", "Wind limits for the stage roof and screens with a written stop procedure, rain covers for front-of-house and cable runs, and a wet-weather running order."})
	}
	if t >= 2 || b.eventType == "festival" || b.eventType == "concert" {
		out = append(out, [2]string{"Crowd safety.", "Crowd management plan with the venue and security: barriers, egress routes, sound-level limits and a show-stop procedure."})
	}
	if b.has("wireless") || t >= 1 {
		out = append(out, [2]string{"Radio interference.", "Frequency coordination before load-in, licensed channels where required, and wired backup microphones at the lectern and front of house."})
	}
	if b.has("livestream") {
		out = append(out, [2]string{"Connectivity.", "Dedicated wired uplink tested the day before, bonded cellular backup, and a holding slate if the stream drops."})
	}
	if t <= 1 {
		out = append(out, [2]string{"Tight load-in.", "Pre-rigged and pre-programmed equipment, a labelled load plan and an agreed venue access time."})
	} else {
		out = append(out, [2]string{"Rigging and access.", "Rigging plot approved by the venue's structural engineer, and a delivery schedule agreed with the venue for the loading dock."})
	}
	out = append(out, [2]string{"Late content.", "A content deadline two working days before the show, a content check in rehearsal, and a holding slide for every session."})
	return out
}

func nextSteps(b brief) []string {
	var out []string
	if b.attendees == 0 {
		out = append(out, fmt.Sprintf("Confirm the expected attendance (this plan assumes %d guests).", assumedAttendees))
	}
	if len(b.dates) == 0 {
		out = append(out, "Confirm the event date and the venue access times.")
	}
	if b.venue == "" {
		out = append(out, "Confirm the venue, and share its floor plans and technical specification.")
	} else {
		out = append(out, "Arrange a site visit of the venue with its technical manager.")
	}
	return append(out,
		"Confirm the running order, presenters or performers, and content deadlines.",
		"Review this plan and the budget, then approve the equipment list.",
		"Book the crew and schedule a production meeting two weeks before the event.",
	)
}

// writeChatAnswer is the offline provider's answer to the proposal chat:
// it does not read the question (only a model can), and says what its
// fixed patterns find in the proposal's data. It is a pure function of b.
func writeChatAnswer(b brief) string {
	var w strings.Builder
	w.WriteString("This answer comes from Rampart's offline generator, which does not read questions: it reports what it finds in the proposal.\n\n")
	fmt.Fprintf(&w, "- **Event type:** %s\n", orTBC(b.eventType))
	fmt.Fprintf(&w, "- **Date(s):** %s\n", orTBC(strings.Join(b.dates, "; ")))
	fmt.Fprintf(&w, "- **Venue:** %s\n", orTBC(b.venue))
	if b.attendees > 0 {
		fmt.Fprintf(&w, "- **Attendance:** %d\n", b.attendees)
	} else {
		w.WriteString("- **Attendance:** to be confirmed\n")
	}
	w.WriteString("\nFor answers to the question itself, configure a model provider (RAMPART_LLM).\n")
	return w.String()
}
