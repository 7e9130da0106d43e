package guard

import "strings"

// rule is one family of injection patterns; a Verdict has at most one
// Finding per rule, scored by the rule's strongest matched pattern.
type rule uint8

const (
	ruleInstructionOverride rule = iota
	ruleRolePlaySystem
	ruleDelimiterSpoof
	ruleExfiltration
	ruleEncodedPayload
	numRules
)

// The rule names, as they appear in a Finding, in audit events and in
// docs/ai-guard.md.
const (
	RuleInstructionOverride = "instruction_override"
	RuleRolePlaySystem      = "role_play_system"
	RuleDelimiterSpoof      = "delimiter_spoof"
	RuleExfiltration        = "exfiltration"
	RuleEncodedPayload      = "encoded_payload"
)

var ruleNames = [numRules]string{
	RuleInstructionOverride,
	RuleRolePlaySystem,
	RuleDelimiterSpoof,
	RuleExfiltration,
	RuleEncodedPayload,
}

// encodedScore is the score of a decodable payload (base64, hex, escapes,
// rot13). What it decodes to is scanned as well and scored on its own.
const encodedScore = 30

// Building blocks of the patterns. The plain form is lower case and has
// single spaces, so the expressions are lower case and need no (?i).
const (
	// overrideVerb starts an instruction override; overrideWords lists the
	// words it can start with (its triggers).
	overrideVerb  = `(?:ignore|disregard|forget|bypass|override|overwrite|skip|neglect|abandon|discard|(?:do\s+not|don'?t|never|stop|cease|quit)\s+(?:follow(?:ing)?|obey(?:ing)?|apply(?:ing)?|adher(?:e|ing)\s+to))`
	overrideWords = "ignore disregard forget bypass override overwrite skip neglect abandon discard do don never stop cease quit"
	// earlier qualifies the instructions an override targets.
	earlier = `(?:previous|prior|above|earlier|preceding|foregoing|original|initial|system|developer)`
	// orders are what an override targets.
	orders = `(?:instructions?|rules|prompts?|directions|directives?|guidelines|guidance|commands?|constraints|restrictions|programming)`
	// scope marks an override limited to a subject ("… instructions about
	// catering"), which benign briefs write; it scores lower.
	scope = `(?P<scope>\s+(?:about|regarding|concerning|re|on|for)\b)?`
	// reveal starts a request to disclose something; revealWords are its
	// first words.
	reveal      = `(?:reveal|print|show|repeat|display|output|tell|give|leak|dump|write\s+(?:out|down)|recite|spell\s+out|echo|share|disclose|expose|list|what\s+(?:is|are|was|were))`
	revealWords = "reveal print show repeat display output tell give leak dump write recite spell echo share disclose expose list what"
	// modifiers may stand between "your" and what is asked for.
	modifiers = `(?:(?:full|entire|complete|exact|original|initial|hidden|secret|system|previous|first|verbatim|real|actual|internal|confidential)\s+)*`
)

func words(s string) []string { return strings.Fields(s) }

// Needs shared by several patterns (see pattern.needs): whole words for
// the plain form, substrings for the squashed one.
var (
	needOrders  = words("instruction instructions rule rules prompt prompts direction directions directive directives guideline guidelines guidance command commands constraints restrictions programming")
	needYour    = words("instructions rules programming guidelines prompt directives training restrictions filters safety")
	needReveal  = words("prompt instruction message programming directive rule guideline context configuration")
	needSquashO = words("instruction rule prompt direction directive guideline command programming")
)

// patterns is the detector table; docs/ai-guard.md lists it for people.
var patterns = compile([]pattern{
	// ---- instruction_override -------------------------------------------
	{
		rule: ruleInstructionOverride, score: 60, scoped: 25, words: words(overrideWords), needs: needOrders, reach: 80, span: 120,
		expr: `\b` + overrideVerb + `\s+(?:(?:all|any|every|each)\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+|those\s+|this\s+|our\s+)?` +
			`(?:` + earlier + `(?:\s*(?:/|,|&|\band\b|\bor\b)\s*(?:following\s+|other\s+)?|\s+))+` + orders + `\b` + scope,
	},
	{
		rule: ruleInstructionOverride, score: 60, scoped: 25, words: words(overrideWords), needs: needOrders, reach: 80, span: 120,
		expr: `\b` + overrideVerb + `\s+(?:all|any|every)\s+(?:of\s+)?(?:the\s+|your\s+|my\s+)?(?:other\s+)?` + orders + `\b` + scope,
	},
	{
		rule: ruleInstructionOverride, score: 60, scoped: 25, words: words(overrideWords), needs: needYour, reach: 80, span: 120,
		expr: `\b` + overrideVerb + `\s+(?:your|the\s+(?:system|model|ai|assistant|bot)'?s?)\s+(?:(?:own|current|usual|safety|core|original)\s+)?` +
			`(?:instructions|rules|programming|guidelines|prompt|system\s+prompt|directives|training|restrictions|filters|safety\s+(?:rules|filters|guidelines))\b` + scope,
	},
	{
		rule: ruleInstructionOverride, score: 50, words: words("forget ignore disregard"), needs: words("told taught instructed said written stated know"),
		expr: `\b(?:forget|ignore|disregard)\s+(?:everything|all)\s+(?:(?:that\s+)?you\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|taught|instructed)|(?:that\s+)?(?:was\s+)?(?:said|written|stated)\s+(?:above|before)|you\s+know)`,
	},
	{
		rule: ruleInstructionOverride, score: 40, words: words("ignore disregard forget"), needs: words("above before prior far"),
		expr: `\b(?:ignore|disregard|forget)\s+(?:everything|all\s+(?:of\s+)?(?:the\s+)?(?:text|content))\s+(?:above|before|prior|so\s+far)\b`,
	},
	{
		rule: ruleInstructionOverride, score: 30, words: words("ignore disregard"), needs: words("above"),
		expr: `\b(?:ignore|disregard)\s+(?:all\s+)?(?:of\s+)?the\s+above\b`,
	},
	{
		rule: ruleInstructionOverride, score: 40, strong: 60, words: words("new"), needs: words("instruction instructions directive directives"), reach: 40,
		expr: `\bnew\s+(?P<strong>(?:system|real|actual|secret|priority|admin|developer|overriding|true|hidden)\s+)?(?:instructions?|directives?)\s*:`,
	},
	{
		rule: ruleInstructionOverride, score: 30, strong: 60, words: words("from"), needs: words("now on"),
		expr: `\bfrom\s+now\s+on\s*,?\s+(?:(?:you\s+(?:will|must|shall|should|are\s+to|can|may)\s+)?(?P<strong>ignore|disregard|forget|obey|pretend|never\s+refuse|` +
			`no\s+longer\s+(?:follow|obey|refuse|have|be)|(?:only|always)\s+(?:respond|answer|reply|speak|output)\s+(?:in|with|as|using)|respond\s+(?:only|as)|(?:act|behave)\s+as|` +
			`be\s+(?:an?\s+(?:ai|assistant|unrestricted)|dan\b|unrestricted|free)|not\s+(?:follow|obey|refuse))|` +
			`you\s+(?:will|must|shall|are\s+(?:to|going\s+to)|should|can|may|only|always|never)\b)`,
	},
	{
		rule: ruleInstructionOverride, score: 60, words: words("override"),
		expr: `\boverride\s+(?:mode|protocol|command|code|instructions?)\s*:`,
	},
	{
		rule: ruleInstructionOverride, score: 40, words: words("previous prior original initial system"),
		needs: words("cancelled canceled void revoked replaced superseded obsolete invalid null lifted removed disabled suspended longer"),
		expr: `\b(?:previous|prior|original|initial|system)\s+(?:instructions|rules|prompt|guidelines|directives)\s+(?:are|were|have\s+been|is|has\s+been)\s+(?:now\s+)?` +
			`(?:cancell?ed|void|revoked|replaced|superseded|obsolete|invalid|null|lifted|removed|disabled|suspended|no\s+longer\s+(?:valid|apply|applicable|in\s+effect|active))\b`,
	},
	// Squashed form: the core phrases with optional spaces.
	{
		rule: ruleInstructionOverride, score: 60, scoped: 25, form: formSquashed, subs: words("ignore disregard forget bypass override"), needs: needSquashO, reach: 80, span: 120,
		expr: `(?:ignore|disregard|forget|bypass|override)\s*(?:(?:all|any|every)\s*)?(?:of\s*)?(?:the\s*|your\s*|my\s*)?` +
			`(?:(?:previous|prior|above|earlier|preceding|original|initial|system|developer)\s*(?:and\s*|or\s*)?)+` +
			`(?:instruction|rule|prompt|direction|directive|guideline|command|programming)s?` + scope,
	},
	{
		rule: ruleInstructionOverride, score: 60, scoped: 25, form: formSquashed, subs: words("ignore disregard forget bypass override"), needs: needSquashO, reach: 80, span: 120,
		expr: `(?:ignore|disregard|forget|bypass|override)\s*(?:(?:all|any|every)\s*(?:of\s*)?(?:the\s*|your\s*)?|your\s*)` +
			`(?:instruction|rule|prompt|guideline|programming|directive|systemprompt|system\s+prompt)s?` + scope,
	},

	// ---- role_play_system -----------------------------------------------
	{
		rule: ruleRolePlaySystem, score: 20, strong: 60, words: words("you"), needs: words("now"),
		expr: `\byou\s+are\s+now\b(?P<strong>\s+(?:an?\s+|the\s+|my\s+|in\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|dan\b|evil|free\s+(?:from|of)|` +
			`no\s+longer\s+(?:bound|restricted|limited|an?\s+(?:ai|assistant|language\s+model))|(?:developer|god|dan|jailbreak|admin|sudo|debug|unrestricted)\s+mode|` +
			`(?:a\s+)?(?:different|new)\s+(?:ai|assistant|model|persona|character|chatbot)|an?\s+ai\s+(?:without|with\s+no)|root\b|admin(?:istrator)?\b|the\s+system\b|system\b|chatgpt|gpt|claude))?`,
	},
	{
		rule: ruleRolePlaySystem, score: 60, words: words("act behave respond answer reply roleplay role operate function"),
		needs: words("unrestricted unfiltered uncensored jailbroken evil dan ai assistant model chatbot llm root superuser mode"),
		expr: `\b(?:act|behave|respond|answer|reply|roleplay|role-play|role\s+play|operate|function)\s+(?:as|like)\s+(?:an?\s+|the\s+|if\s+you\s+(?:are|were)\s+(?:an?\s+)?)?` +
			`(?:unrestricted|unfiltered|uncensored|jailbroken|evil|dan\b|(?:ai|assistant|model|chatbot|llm)\s+(?:without|with\s+no|that\s+(?:has\s+no|ignores|can\s+do\s+anything))|` +
			`root\b|superuser|(?:developer|god|dan)\s+mode)`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, words: words("act speak respond"), needs: words("system developer"),
		expr: `\b(?:act|speak|respond)\s+as\s+(?:the\s+)?(?:system|developer)(?:\s+(?:prompt|message))?(?:\s*[.,;:!]|\s*$|\s+and\b|\s+now\b)`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, words: words("pretend"),
		expr: `\bpretend\s+(?:to\s+be|(?:that\s+)?you\s+are|you're|you\s+have\s+no)\b`,
	},
	{
		rule: ruleRolePlaySystem, score: 50, words: words("god dan jailbreak jailbroken sudo unrestricted unfiltered uncensored"), needs: words("mode"),
		expr: `\b(?:god|dan|jailbreak|jailbroken|sudo|unrestricted|unfiltered|uncensored)\s+mode\b`,
	},
	// "Developer mode" is also a setting of LED processors, consoles and
	// phones ("switch the processor out of developer mode"): on its own a
	// weak signal; strong when someone turns it on or says the reader is in it.
	{
		rule: ruleRolePlaySystem, score: 30, strong: 50, words: words("developer"), needs: words("mode"),
		expr: `(?:\b(?P<strong>enable|enter|activate|unlock|turn\s+on|switch\s+(?:on|to|into)|(?:you\s+are|you're|now)\s+(?:now\s+)?in)\s+(?:the\s+)?)?\bdeveloper\s+mode\b(?P<strong>\s+(?:enabled|activated|on\b|output|response))?`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, words: words("jailbreak jailbroken jailbreaking jailbreaks"),
		expr: `\bjailbr(?:eak|oken|eaking|eaks)\b`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, words: words("do"), needs: words("anything"),
		expr: `\bdo\s+anything\s+now\b`,
	},
	{
		rule: ruleRolePlaySystem, score: 20, form: formCased, subs: words("DAN"),
		expr: `\bDAN\b`,
	},
	{
		rule: ruleRolePlaySystem, score: 20, strong: 50, lineStart: true, words: words("system assistant developer human user ai"),
		expr: `\b(?:system|assistant|developer|human|user|ai)\s*(?:(?P<strong>message|prompt|override|instructions?)\s*)?:` +
			`(?P<strong>\s*(?:you\s+are|you\s+must|you're|your\s+(?:new|real|true|only|actual)|the\s+(?:assistant|ai|model|bot)|ignore|disregard|forget|override|always\s+(?:respond|answer|reply)|never\s+(?:refuse|mention|reveal)|from\s+now))?`,
	},
	{
		rule: ruleRolePlaySystem, score: 30, lineStart: true, subs: words("#"), needs: words("system assistant developer"),
		expr: `#{1,6}[ \t]*(?:system|assistant|developer)(?:[ \t]+(?:prompt|message))?[ \t]*:?[ \t]*(?:\n|$)`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, words: words("i this"), needs: words("your"),
		expr: `\b(?:i\s+am|i'm|this\s+is)\s+your\s+(?:developer|creator|administrator|admin|owner|operator|programmer|master)\b`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, words: words("message instruction update directive notice override"), needs: words("from"),
		expr: `\b(?:message|instruction|update|directive|notice|override)\s+from\s+(?:the\s+|your\s+)?(?:system|developers?|openai|anthropic)\b`,
	},
	// Squashed form.
	{
		rule: ruleRolePlaySystem, score: 60, form: formSquashed, subs: words("you"), needs: words("now"),
		expr: `you\s*are\s*now\s*(?:an?\s*)?(?:unrestricted|unfiltered|uncensored|jailbroken|dan\b|evil|in\s*(?:developer|god|dan)\s*mode)`,
	},
	{
		rule: ruleRolePlaySystem, score: 50, form: formSquashed, subs: words("god dan jailbreak"), needs: words("mode"),
		expr: `(?:god|dan|jailbreak)\s*mode`,
	},
	{
		rule: ruleRolePlaySystem, score: 50, form: formSquashed, subs: words("enable enter activate unlock"), needs: words("developer"),
		expr: `(?:enable|enter|activate|unlock)\s*(?:the\s*)?developer\s*mode`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, form: formSquashed, subs: words("jailbr"),
		expr: `jailbr(?:eak|oken)`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, form: formSquashed, subs: words("pretend"), needs: words("be are"),
		expr: `pretend\s*(?:to\s*be|you\s*are)`,
	},
	{
		rule: ruleRolePlaySystem, score: 40, form: formSquashed, subs: words("do"), needs: words("anything"),
		expr: `do\s*anything\s*now`,
	},

	// ---- delimiter_spoof --------------------------------------------------
	{
		rule: ruleDelimiterSpoof, score: 60, words: words("untrusted"),
		expr: `\buntrusted[_-]data`,
	},
	{
		rule: ruleDelimiterSpoof, score: 60, subs: words(`< &lt; &#60; &#x3c; \u003c %3c`), needs: words("untrusted"),
		expr: `(?:<|&lt;|&#0*60;|&#x0*3c;|\\u003c|%3c)\s*/?\s*untrusted`,
	},
	{
		rule: ruleDelimiterSpoof, score: 60, subs: words("<|"),
		expr: `<\|\s*[a-z_]{2,24}\s*\|>`,
	},
	{
		rule: ruleDelimiterSpoof, score: 60, subs: words("[ <<"), needs: words("inst sys"),
		expr: `\[\s*/?\s*inst\s*\]|<<\s*/?\s*sys\s*>>`,
	},
	{
		rule: ruleDelimiterSpoof, score: 40, subs: words("</s>"),
		expr: `</s>`,
	},
	{
		rule: ruleDelimiterSpoof, score: 60, subs: words("```"),
		expr: "```\\s*(?:system|assistant|developer|instructions?|prompt|tool)\\b",
	},
	{
		rule: ruleDelimiterSpoof, score: 60, subs: words("<"),
		expr: `</?\s*(?:system|system[_-]?prompt|instructions?|assistant|user|human|developer|prompt|admin|tool_result|function_results|function_calls|start_of_turn|end_of_turn)\s*>`,
	},
	{
		rule: ruleDelimiterSpoof, score: 40, subs: words("["), needs: words("system assistant sys"),
		expr: `\[\s*/?\s*(?:system|assistant|sys|system\s+prompt)\s*\]`,
	},

	// ---- exfiltration -----------------------------------------------------
	// Two more exfiltration patterns, "send … data … to a URL" and "ask for
	// a credential", are in proximity.go.
	{
		rule: ruleExfiltration, score: 50, words: words(revealWords), needs: words("your"),
		expr: `\b` + reveal + `\s+(?:me\s+|us\s+)?(?:back\s+)?(?:all\s+|everything\s+)?(?:of\s+)?(?:in\s+)?your\s+` + modifiers +
			`(?:prompt|instructions|system\s+message|programming|directives)\b`,
	},
	{
		rule: ruleExfiltration, score: 50, words: words(revealWords), needs: words("your"),
		expr: `\b` + reveal + `\s+(?:me\s+|us\s+)?(?:back\s+)?(?:all\s+)?(?:of\s+)?your\s+(?:(?:full|entire|complete|exact|original|initial|hidden|secret|system|internal|confidential)\s+)+` +
			`(?:rules|guidelines|context|configuration|instructions)\b`,
	},
	{
		rule: ruleExfiltration, score: 50, words: words(revealWords), needs: words("prompt message instructions"),
		expr: `\b` + reveal + `\s+(?:me\s+|us\s+)?(?:back\s+)?(?:all\s+)?(?:of\s+)?the\s+(?:(?:full|entire|complete|exact|verbatim)\s+)?` +
			`(?:(?:system|developer|hidden|secret)\s+(?:prompt|message|instructions)|(?:initial|original|first)\s+prompt|(?:prompt|instructions)\s+(?:above|before\s+this))\b`,
	},
	{
		rule: ruleExfiltration, score: 30, strong: 50, words: words("repeat recite echo output reproduce regurgitate"), needs: words("above before preceding far"),
		expr: `\b(?:repeat|recite|echo|output|reproduce|regurgitate)\s+(?:back\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+|everything\s+)?(?:(?:words|text|content|instructions|prompt)\s+)?(?:above|before\s+this|preceding|so\s+far)\b` +
			`(?P<strong>[^\n]{0,20}?\b(?:starting\s+with|verbatim|word\s+for\s+word|in\s+a\s+code\s+block|exactly|including\s+everything))?`,
	},
	{
		rule: ruleExfiltration, score: 30, words: words("system"), needs: words("prompt"),
		expr: `\bsystem\s+prompt\b`,
	},
	{
		rule: ruleExfiltration, score: 40, strong: 60, subs: words("!["), needs: words("]("), span: 500,
		expr: `!\[[^\]\n]*\]\(\s*<?(?:https?:)?//[^)\s?\[\]]+\?[^)\s\[\]]*?=(?P<strong>[^)\s\[\]]*?(?:[{}$<>\[]|%7b|%24|\b(?:data|secret|key|token|password|pass|prompt|history|conversation|chat|context|exfil|leak|memory|creds?|apikey|api_key|session)\b))?`,
	},
	{
		rule: ruleExfiltration, score: 50, subs: words("["), needs: words("]("), span: 500,
		expr: `\[[^\]\n]*\]\(\s*<?https?://[^)\s?\[\]]+\?[^)\s\[\]]*?=[^)\s\]]*?(?:[{}$<>\[]|%7b|%24)`,
	},
	{
		rule: ruleExfiltration, score: 50, subs: words("<img"), needs: words("//"), span: 500,
		expr: `<img\b[^>]*?\bsrc\s*=\s*["']?(?:https?:)?//[^"'\s>?]+\?`,
	},
	// Squashed form.
	{
		rule: ruleExfiltration, score: 50, form: formSquashed, subs: words("reveal print show repeat display output leak dump disclose recite"),
		needs: words("prompt message instruction"),
		expr: `(?:reveal|print|show|repeat|display|output|leak|dump|disclose|recite)\s*(?:me\s*|us\s*)?(?:all\s*)?(?:of\s*)?(?:your|the)\s*` +
			`(?:(?:full|entire|complete|exact|original|initial|hidden|secret)\s*)*(?:system\s*prompt|system\s*message|system\s*instructions?|initial\s*instructions?|hidden\s*instructions?)`,
	},
	{
		rule: ruleExfiltration, score: 30, form: formSquashed, subs: words("system"), needs: words("prompt"),
		expr: `system\s*prompt`,
	},

	// ---- encoded_payload --------------------------------------------------
	{
		rule: ruleEncodedPayload, score: encodedScore, rot13: true, words: words("vtaber qvfertneq sbetrg bireevqr flfgrz"),
		expr: `\b(?:vtaber|qvfertneq|sbetrg|bireevqr)\s+(?:[a-z]+\s+){0,3}(?:cerivbhf|cevbe|nobir|flfgrz|vafgehpgvbaf|ehyrf|cebzcgf?)\b|\bflfgrz\s+cebzcg\b`,
	},
	{
		rule: ruleEncodedPayload, score: encodedScore, words: words("decode decrypt deobfuscate unscramble rot base"),
		needs: words("follow execute run obey do perform carry act"),
		expr:  `\b(?:decode|decrypt|deobfuscate|unscramble|rot-?13|base-?64)\b[^\n]*?\b(?:and|then)\s+(?:follow|execute|run|obey|do|perform|carry\s+out|act\s+on)\b`,
	},
})
