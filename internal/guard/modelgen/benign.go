package main

import (
	"fmt"
	"strings"
)

// Benign texts: event-production briefs (with the look-alike phrases that
// are ordinary in the trade), assistant requests and look-alike questions.

var (
	eventKinds  = []string{"gala dinner", "product launch", "awards night", "conference", "wedding reception", "trade show stand", "festival stage", "corporate offsite", "charity auction", "fashion show", "press conference", "summer party", "board retreat", "music showcase", "hackathon", "film premiere", "sales kick-off", "graduation ceremony", "exhibition opening", "team-building day"}
	venues      = []string{"the Riverside Hall", "Hall B", "the old brewery", "a marquee on the lawn", "the hotel ballroom", "the rooftop terrace", "the convention centre", "Pier 4", "the town hall", "the museum atrium", "the football stadium's hospitality suite", "a converted warehouse", "the castle courtyard", "the theatre", "the client's HQ"}
	people      = []string{"Sam", "Maria", "Dev", "Priya", "Tom", "Sarah", "Jo", "Ahmed", "Lena", "Kofi", "Yuki", "Marco", "Ines", "Olu", "Hannah", "Dan"}
	departments = []string{"catering", "AV", "lighting", "staging", "security", "transport", "signage", "florals", "registration", "the bar", "rigging", "power", "cleaning", "ticketing", "photography"}
	briefLines  = []string{
		"Load-in from 07:00 via dock %D, get-out by 01:00.", "Guest count is %N, with %M on the VIP list.", "Doors at 18:30, dinner at 19:30, speeches at 21:00.",
		"The stage is 12x8m with a 1.2m deck height.", "We need %N chairs in theatre style and 12 round tables for the VIPs.", "Power: 63A three-phase at stage left, two 32A for catering.",
		"Please send the revised quote by Friday.", "Budget is capped at £%K, including VAT.", "Dietary requirements: %M vegan, 12 gluten-free, 3 nut allergies.",
		"Parking for crew at the multi-storey, level 3.", "Curfew is 23:00 sharp; noise limit 95 dB at FOH.", "Hi-vis and steel toe caps at all times during the build.",
		"The client wants a navy, gold and ivory palette.", "Two followspots and a haze machine for the awards segment.", "Rigging points rated at 1t each; the roof can take 2t per point.",
		"Registration desk opens at 08:00 with 6 badge printers.", "Wi-Fi: 500 concurrent users, separate network for production.", "A 6x3m LED wall behind the lectern, 3.9mm pitch.",
		"Interpretation booths for FR/EN/DE, 4 interpreters.", "Shuttle buses every 15 minutes from the station.", "Photographer from 18:00 to 23:00, edited shots within 48 hours.",
		"The florist arrives at 14:00; centrepieces 40cm max height.", "Security: 8 SIA-licensed staff, bag search at the main entrance.", "The bar closes at 00:30, last orders 00:15.",
		"Cloakroom for %N coats, two attendants.", "First aid cover: one paramedic, one first aider per 500 guests.", "Run-of-show v3 attached; v2 is out of date.",
		"Please confirm the crew call sheet by Tuesday.", "Accessible entrance on the east side with a ramp and a lift to the mezzanine.", "Insurance certificate and RAMS needed before load-in.",
	}
	lookAlikes = []string{
		"Please ignore the previous floor plan; the new one is attached.", "Forget the earlier menu, the client changed to a three-course seated dinner.", "Skip the previous vendor's quote, it was for the wrong date.",
		"Disregard the old run-of-show, version 4 replaces it.", "The rigging system instructions are in the venue pack, section 3.", "New instructions for the load-in: use the north gate, not dock B.",
		"From now on, all invoices go to accounts@example.com.", "Ignore the earlier email about parking; Lot C is open again.", "The system prompt on the registration kiosk should say 'Welcome, please scan your badge'.",
		"Our MC will act as host and pretend to be a 1920s radio presenter.", "The keynote speaker will role play a customer call on stage.", "Override the default lighting cue 14 with a slow fade to blue.",
		"Forget what I said about the fireworks, the venue forbids them.", "The previous instructions about the cloakroom still apply.", "Please repeat the above setup for day 2 in Hall B.",
		"Share the Wi-Fi password with the crew on arrival.", "The jailbreak escape room needs three screens and a countdown timer.", "Act as the client's point of contact while Tom is on leave.",
		"Reveal the winners only after the drum roll; the envelopes are in the safe.", "Print the seating plan on A1 and the table cards on 300gsm.", "Drop the prior supplier, their insurance lapsed.",
		"Set aside the original budget; the client approved an extra £5k.", "Ignore all previous versions of the guest list, use v7.", "The system admin for the ticketing platform is Dev.",
		"Tell the caterer to forget the earlier canapé order and go with option B.", "Override: the show caller's instructions take priority over the script on the night.", "Bypass the main foyer and bring deliveries via the service lift.",
		"The developer mode on the LED processor must be off during the show.", "Do not follow the old signage rules; the venue updated its brand guide.", "Please output the final schedule as a PDF and share it with the team.",
		"Show me the budget breakdown by department.", "List all the suppliers with their contact details.", "Repeat the safety briefing at 13:00 for the late crew.",
		"The new system for accreditation replaces the old instructions entirely.", "Anyone without a pass must be turned away; no exceptions, even for VIPs.", "The hypnotist will ask volunteers to pretend they are chickens.",
	}
	assistantAsks = []string{
		"Write a short poem about the sea.", "Summarise this article in three bullet points.", "Translate 'good morning, how are you?' into Spanish.", "Explain how photosynthesis works to a ten-year-old.",
		"Help me write an email to my landlord about a broken heater.", "What is the capital of Australia?", "Give me five ideas for a birthday party for a seven-year-old.", "How do I reverse a linked list in Python?",
		"Write a cover letter for a junior accountant position.", "What are the health benefits of green tea?", "Suggest a name for my bakery.", "Create a weekly meal plan for a vegetarian.",
		"What's the difference between a virus and a bacterium?", "Draft a polite reminder about an unpaid invoice.", "Explain the rules of cricket briefly.", "Write a haiku about autumn leaves.",
		"How can I improve my sleep?", "Rewrite this paragraph to sound more formal.", "What is a good beginner workout routine?", "Convert 72 degrees Fahrenheit to Celsius.",
		"Recommend some books similar to The Hobbit.", "Explain recursion with an example.", "How do I make sourdough bread?", "Write a product description for a bamboo toothbrush.",
		"What were the main causes of World War I?", "Proofread my essay introduction.", "Tell me a fun fact about octopuses.", "Write a SQL query that counts orders per customer.",
		"I want you to act as a travel guide. I will tell you my location and you will suggest places to visit nearby.", "Act as an interviewer for a software engineering job and ask me questions one at a time.",
		"Pretend you are a tour guide in Rome and describe the Colosseum.", "Can you role play a customer so I can practise my sales pitch?", "You are a helpful assistant that answers questions about gardening.",
		"Ignore the typos in my message, I'm typing on my phone.", "Forget about the budget for now, what would the ideal venue be?", "Repeat the last step, I didn't understand it.",
		"What's the best way to learn a new language?", "Write a limerick about a cat who loves cheese.", "How does a blockchain work?", "Plan a three-day itinerary for Lisbon.",
		"Explain the system of checks and balances in the US government.", "What instructions should I give a babysitter?", "Give me a list of icebreaker questions for a team meeting.",
		"How do I reset my router to factory settings?", "Write a bash script that renames all .txt files to .md.", "What does the error 'permission denied' mean on Linux?",
		"How do I kill a Python process that is stuck?", "How can I blow up my sales numbers this quarter?", "What's the best way to shoot a photo at night?", "How do I execute a plan well?",
		"Where can I buy a can of coke?", "How do I beat my brother at chess?", "What is the password policy recommended by NIST?", "How do I choose a strong password?",
		"Describe the plot of Romeo and Juliet.", "Write a speech for my sister's wedding.", "What are some tips for public speaking?", "How do I override a method in Java?",
		"How do I bypass the cache in Chrome when reloading a page?", "What does 'ignore case' do in a regex?", "Explain the developer mode on Android phones.", "How do I jailbreak-proof my app's API keys?",
	}
)

// eventBrief is an ordinary brief of 2 to 7 lines, sometimes with a
// look-alike phrase.
func (g gen) eventBrief() string {
	var b strings.Builder
	b.WriteString(sentence(fmt.Sprintf("%s %s at %s.", g.pick("Brief:", "Event:", "RFP:", "Re:", "Hi team,", "Hello,", ""), g.pickOf(eventKinds), g.pickOf(venues))))
	n := 2 + g.r.IntN(6)
	for range n {
		b.WriteString(g.pick(" ", "\n", "\n- "))
		var line string
		switch g.r.IntN(5) {
		case 0:
			line = g.pickOf(lookAlikes)
		case 1:
			line = fmt.Sprintf("%s handles %s; contact %s@example.com.", g.pickOf(people), g.pickOf(departments), strings.ToLower(g.pickOf(people)))
		default:
			line = g.pickOf(briefLines)
		}
		line = strings.NewReplacer("%N", fmt.Sprint(50+g.r.IntN(950)), "%M", fmt.Sprint(5+g.r.IntN(60)), "%K", fmt.Sprint(10+g.r.IntN(190))+",000", "%D", g.pick("A", "B", "C")).Replace(line)
		b.WriteString(line)
	}
	if g.r.IntN(3) == 0 {
		b.WriteString(g.pick("\nThanks, ", "\nBest, ", "\nCheers, ", "\nRegards, ") + g.pickOf(people))
	}
	return b.String()
}

func (g gen) assistantAsk() string {
	s := g.pickOf(assistantAsks)
	if g.r.IntN(4) == 0 {
		s = g.pick("Hi! ", "Hello, ", "Please ", "Quick one: ", "Thanks in advance. ", "Hey, ") + s
	}
	return s
}

var (
	topics = []string{"the water cycle", "black holes", "the French Revolution", "compound interest", "machine learning", "climate change", "the immune system", "supply and demand", "the Roman Empire", "quantum computing",
		"photosynthesis", "the stock market", "volcanoes", "the internet", "democracy", "vaccines", "renewable energy", "the human brain", "jazz music", "the Great Wall of China", "honey bees", "electric cars",
		"the Cold War", "plate tectonics", "inflation", "social media", "the printing press", "coral reefs", "the Olympic Games", "artificial intelligence", "sleep", "coffee", "the moon landing", "DNA",
		"a healthy diet", "remote work", "time management", "public transport", "recycling", "video games", "the Renaissance", "earthquakes", "gravity", "the periodic table", "cryptography", "poetry"}
	audiences = []string{"a five-year-old", "a high school student", "an expert", "my grandmother", "a beginner", "a busy executive", "a non-native speaker", "someone who has never heard of it"}
	formats   = []string{"in three sentences", "in one paragraph", "as a bullet list", "in under 100 words", "as a table", "step by step", "with an example", "in simple terms", "in a friendly tone", "as a numbered list", "in the style of a news report", "as a short dialogue", "in plain English", "with pros and cons"}
	writeWhat = []string{"a poem", "a short story", "a blog post", "a tweet", "an essay", "a haiku", "a song", "a product review", "a speech", "a letter", "a summary", "a joke", "a riddle", "a limerick", "an advertisement", "a dialogue", "a news headline", "a recipe", "a thank-you note", "a job description"}
	qStarts   = []string{"How many", "Why do", "What is the difference between", "How does", "What causes", "Is it true that", "When did", "Who invented", "Where is", "Which is better,", "What would happen if", "Can you explain why", "How long does it take for", "What are the benefits of"}
	qThings   = []string{"stars are in the Milky Way", "cats purr", "a crocodile and an alligator", "a refrigerator work", "thunder", "goldfish have a three-second memory", "the Berlin Wall fall", "the telephone", "Mount Everest", "tea or coffee",
		"the moon disappeared", "the ocean is salty", "light to reach Earth from the sun", "learning a second language", "leaves change colour in autumn", "a hybrid car and an electric car", "planes stay in the air", "people dream"}
	reasoning = []string{"Try to explain your answer step by step.", "Show your reasoning.", "Walk me through your thinking.", "Explain your answer.", "Give me the final answer only.", "Answer in one word.", "Keep it short.", "Be concise.", "Think it through carefully before answering.", "Your explanation should take me through each step of your reasoning."}
	tasks     = []string{"Classify the following sentence as positive, negative or neutral: %T", "Correct the grammar in this sentence: %T", "Translate the following into German: %T", "Rewrite this sentence in the passive voice: %T",
		"Summarize the following paragraph: %T", "Extract the names and dates from this text: %T", "Turn this into a question: %T", "Find the main verb in: %T", "Suggest a title for a text that begins: %T", "Paraphrase: %T",
		"Is this statement a fact or an opinion? %T", "Count the words in this sentence: %T", "Make this sound more polite: %T", "Continue the story: %T", "Give this sentence a more formal tone: %T"}
	snippets = []string{"the meeting has been moved to Thursday afternoon", "I loved the film but the ending was too long", "our team won the regional finals last weekend", "the library will be closed for renovations until March",
		"she said the package would arrive tomorrow", "prices rose by four percent in the last quarter", "the dog barked at the postman every morning", "we are looking for a new office closer to the station",
		"the concert was cancelled because of the storm", "please send me the report before lunch", "he has been learning to play the piano since he was six", "the new policy takes effect on the first of June"}
	mathQ = []string{"A baker makes %A loaves a day and sells them for $%B each. How much does she earn in a week?", "Tom has %A marbles and gives %B to his sister. How many does he have left?",
		"A train travels %A km in %B hours. What is its average speed?", "If a shirt costs $%A and is on sale for %B%% off, what is the sale price?", "Solve for x: %Ax + %B = 100.",
		"A garden is %A metres long and %B metres wide. What is its area?", "What is %A multiplied by %B?", "Sara reads %A pages a day. How many days will it take her to read a %B-page book?"}
	rolePlays = []string{"Pretend you are a pirate and tell me about your favourite treasure.", "Imagine you are a chef and describe your signature dish.", "Act as a personal trainer and design a workout for me.",
		"You are a travel agent. Recommend a honeymoon destination.", "Pretend to be a medieval knight writing a letter home.", "Role-play as a customer service agent handling a late delivery complaint.",
		"Act as my English teacher and correct my mistakes.", "Imagine you are a tour guide in Kyoto.", "Pretend you are a detective solving a mystery in a small village.", "Act as a career coach and review my CV summary.",
		"Answer as if you were Shakespeare.", "Pretend to be a character in a fantasy novel and describe your quest.", "You are a museum guide. Describe the most famous painting in the collection.", "Act as a debate opponent and argue against my point."}
)

// assistantRequest composes a generic request to an assistant, the kind
// of benign text public prompt sets hold most of.
func (g gen) assistantRequest() string {
	fill := func(s string) string {
		return strings.NewReplacer("%T", g.pickOf(snippets), "%A", fmt.Sprint(2+g.r.IntN(98)), "%B", fmt.Sprint(2+g.r.IntN(40)), "%%", "%").Replace(s)
	}
	var s string
	switch g.r.IntN(10) {
	case 0:
		s = fmt.Sprintf("%s %s to %s %s.", g.pick("Explain", "Describe", "Teach me about", "Summarise", "Tell me about", "Give me an overview of", "Can you explain"), g.pickOf(topics), g.pickOf(audiences), g.pickOf(formats))
	case 1:
		s = fmt.Sprintf("%s %s about %s%s.", g.pick("Write", "Compose", "Draft", "Create", "Generate", "Give me", "Please write"), g.pickOf(writeWhat), g.pickOf(topics), g.pick("", "", " "+g.pickOf(formats), " for "+g.pickOf(audiences)))
	case 2:
		s = fmt.Sprintf("%s %s? %s", g.pickOf(qStarts), g.pickOf(qThings), g.pick("", "", g.pickOf(reasoning)))
	case 3:
		s = fill(g.pickOf(tasks))
	case 4:
		s = fill(g.pickOf(mathQ)) + g.pick("", " "+g.pickOf(reasoning))
	case 5:
		s = g.pickOf(rolePlays)
	case 6:
		s = fmt.Sprintf("%s %s and %s.", g.pick("Compare", "Contrast", "What are the similarities between", "List the differences between"), g.pickOf(topics), g.pickOf(topics))
	case 7:
		s = fmt.Sprintf("Give me %d %s about %s.", 3+g.r.IntN(8), g.pick("facts", "tips", "questions", "ideas", "examples", "reasons", "myths", "quotes"), g.pickOf(topics))
	case 8:
		s = fmt.Sprintf("%s %s?", g.pick("Can you tell me how to", "Tell me how to", "How do I", "Show me how to", "What's the best way to", "Explain how to"), g.pick("fix a flat tyre", "turn off the lights with my phone", "clean a cast iron pan", "set up a printer", "cut down a small tree", "get rid of weeds", "remove a stripped screw", "unblock a drain", "break a bad habit", "kill time at an airport", "crush garlic", "smash a presentation", "attack a climbing route", "hack together a quick prototype", "shut down my laptop remotely", "destroy old hard drives safely", "make a strong cocktail", "take over a project from a colleague", "get my team to follow the rules"))
	default:
		s = g.assistantAsk()
	}
	if g.r.IntN(5) == 0 {
		s += " " + g.pick("Thanks!", "Please be detailed.", "Keep it under 200 words.", "Use simple language.", "Include an example.", "No jargon please.", "Answer in French.")
	}
	return s
}

var (
	tradeObjects = []string{"floor plan", "menu", "quote", "run-of-show", "brief", "guest list", "seating plan", "budget", "cancellation terms", "delivery slot", "schedule", "call sheet", "stage plot", "rider", "lighting cue", "arrangement brief",
		"canapé order", "invoice", "contract draft", "risk assessment", "signage", "colour palette", "playlist", "transport plan", "packing list", "load-in time", "catering order", "RFP", "proposal", "timeline", "rota", "table plan", "deposit terms", "booking"}
	tradeRules  = []string{"the venue's rules", "house rules", "the loading bay rules", "the fire safety rules", "the security company's rules", "the dress code rules", "the noise rules", "the council's rules for street parties", "the festival site rules", "the health and safety guidelines", "the brand guidelines", "the accessibility guidelines", "the sustainability guidelines", "the parking instructions", "the delivery instructions", "the rigging instructions", "the load-in instructions", "the assembly instructions", "the client's instructions", "the caterer's instructions"}
	tradeActors = []string{"the caterer", "the florist", "the venue", "the AV team", "the crew", "the rigger", "the client", "the printer", "security", "the bar manager", "the photographer", "the DJ", "the stage manager", "the transport company", "the supplier"}
)

// lookAlike is an ordinary production sentence built from the verbs and
// nouns injection attacks use ("forget", "override", "rules", "system",
// "instructions", "mode", "reveal", "password").
func (g gen) lookAlike() string {
	prior := g.pick("previous", "earlier", "first", "old", "original", "prior", "last", "initial", "above", "")
	switch g.r.IntN(9) {
	case 0:
		return sentence(fmt.Sprintf("%s the %s %s; %s", g.pickOf(overrideVerbs), prior, g.pickOf(tradeObjects), g.pick("the new one is attached.", "it was for the wrong date.", "the client changed their mind.", "version 4 replaces it.", "use the revised one instead.", "it had the wrong numbers.")))
	case 1:
		return sentence(fmt.Sprintf("Please tell %s to %s the %s %s and %s.", g.pickOf(tradeActors), g.pick("forget", "ignore", "discard", "drop", "disregard", "skip", "scrap"), prior, g.pickOf(tradeObjects), g.pick("go with option B", "wait for the update", "use the one from Tuesday", "call me if unsure", "confirm by Friday")))
	case 2:
		return sentence(fmt.Sprintf("%s: %s.", g.pickOf(tradeRules), g.pick("no re-entry after 22:00", "vehicles under 7.5t only", "hi-vis at all times", "no open flames", "all cables taped down", "max 95 dB at the boundary", "deliveries before 08:00", "fire exits kept clear", "no glass on the lawn")))
	case 3:
		return sentence(fmt.Sprintf("The client asked us to override the %s: %s.", g.pick("standard cancellation terms", "default lighting cue", "usual seating layout", "set menu", "house PA", "standard payment schedule", "venue's default curfew"), g.pick("they agreed it with the venue", "see the attached email", "the director signed it off", "it is in the contract addendum")))
	case 4:
		return sentence(fmt.Sprintf("Switch the %s %s mode before doors.", g.pick("LED processor", "lighting desk", "media server", "ticket scanner", "projector", "sound desk"), g.pick("out of developer", "out of test", "into show", "out of demo", "into safe", "out of service")))
	case 5:
		return sentence(fmt.Sprintf("%s the %s %s for %s.", g.pick("Please share", "Send", "Print", "Reveal", "Show", "List"), g.pick("Wi-Fi password", "door code", "access code", "winners' names", "final schedule", "secret menu", "surprise guest", "hidden room"), g.pick("only", "", "at the briefing", "on the day"), g.pickOf(tradeActors)))
	case 6:
		return sentence(fmt.Sprintf("For the %s, guests %s.", g.pick("murder mystery", "escape room", "immersive dinner", "themed party", "team-building game", "improv workshop"), g.pick("pretend to be detectives", "act as spies who must find the hidden code", "play characters with secret roles", "role play as villagers", "must break out of the vault in 60 minutes", "follow secret instructions in sealed envelopes")))
	case 7:
		return sentence(fmt.Sprintf("From now on, %s %s.", g.pick("please send", "all invoices go", "questions about catering go", "copy Lena on", "the crew reports"), g.pick("to accounts@example.com", "to Sarah instead of Tom", "every message about accreditation", "to the production office", "to me directly")))
	default:
		return sentence(fmt.Sprintf("The %s system %s.", g.pick("ticketing", "rigging", "access control", "PA", "registration", "booking", "badge"), g.pick("instructions are in the venue pack", "needs a firmware update before the show", "is new this year", "has its own admin login", "prompts guests to scan their QR code", "manual is attached")))
	}
}

// productText is what the workspace's own fields hold: short titles,
// client and item names, and the requests people make about proposals,
// bills of materials and budgets. An injection detector for this product
// must not learn that its own vocabulary ("proposal", "summarise the
// brief") is an attack.
func (g gen) productText() string {
	obj := g.pick("proposal", "brief", "bill of materials", "BOM", "budget", "statement of work", "SOW", "quote", "rider", "run-of-show", "floor plan", "change order")
	switch g.r.IntN(6) {
	case 0:
		return g.pick("Proposal", "proposal", "Draft proposal", "Bench proposal", "Revised proposal", "Event proposal", "Proposal v2", "The proposal",
			"Gala", "Launch", "Summit", "Town hall", "Offsite", "Awards night", "Conference", "Festival stage") +
			g.pick("", "", " "+fmt.Sprint(1+g.r.IntN(300)), " "+g.pick("2026", "Q3", "(final)", "- draft", "for Initech", "Oslo", "HALL-A"))
	case 1:
		return g.pick("Initech", "Initrode", "Globex", "Umbrella", "Acme Corp", "Northwind Traders", "Bench client", "Demo client", "Stark Events", "Wayne Foundation",
			"HALL-A", "HALL-B", "Main stage", "Truss 3m", "Moving head spot", "Line array speaker", "LED wall", "PA hire", "Generator", "Dance floor")
	case 2:
		return sentence(fmt.Sprintf("%s the %s%s", g.pick("Summarise", "Summarize", "Write", "Draft", "Update", "Review", "Check", "Rewrite", "Shorten", "Translate", "Proofread", "Finalise", "Approve", "Reject", "Compare"),
			obj, g.pick("", " for the client", " with the new venue", " before Friday", " in French", " for the board", " against the budget", " and flag the risks")))
	case 3:
		return sentence(fmt.Sprintf("%s the %s %s", g.pick("Please", "Can you", "Could you"), g.pick("summarise", "update", "tighten", "rewrite", "review"), obj))
	case 4:
		return fmt.Sprintf("%s for %s, %d guests", g.pick("Proposal", "Quote", "Budget", "Brief", "Run-of-show"), g.pick("Initech", "the spring gala", "the product launch", "the awards night"), 20+g.r.IntN(2000))
	default:
		return sentence(fmt.Sprintf("The %s %s", obj, g.pick("is attached", "needs a second look", "was approved yesterday", "goes to the client on Monday", "has the wrong date", "is ready for review", "replaces the previous version")))
	}
}
