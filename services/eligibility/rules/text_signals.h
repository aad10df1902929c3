// What an inbound WhatsApp message says about calling: did the contact ask to be called, answer
// an agent's offer with yes or no, or opt out of calls? Pure text rules over phrase lists that
// are data (phrases.cc, plus per-tenant extras), for en, es, pt, fr, de, hi and id.
//
//   Classification c = TextClassifier::Default().Classify("¡Llámame mañana!", {"es", "en"});
//   if (c.signal == Signal::kCallRequest) RecordCallRequest(contact, now);
//
// How a message is read:
// - Normalize() folds case, strips Latin accents (not Devanagari vowel signs), drops
//   apostrophes ("don't" -> "dont", "d'accord" -> "daccord"), turns other punctuation and emoji
//   into spaces, except 👍 👎 👌, which become the tokens "thumbsup", "thumbsdown", "okhand" so
//   the data can list them. Phrases are normalized the same way, so data may be written with
//   accents and punctuation.
// - Phrases match whole tokens ("ok" never matches inside "book"). Where matches overlap, the
//   longest wins, so idioms mask their words: "no problem" is affirmative and its "no" is neither
//   a decline nor a negation.
// - Sentence punctuation (. ! ? ; … ¡ ¿ । and line breaks) ends a sentence; no phrase spans two.
//   Commas, colons, brackets and dashes end a clause; phrases may span those ("hören Sie auf,
//   mich anzurufen"), but negation windows and reply anchoring stop there.
// - A call-request phrase is negated, and counts as an opt-out, when a negation cue of the same
//   language ends at most 2 tokens before it ("don't ever call me") or, for negation_after cues,
//   starts at most 2 tokens after it ("ruf mich bitte nicht an"), inside the same clause. A cue
//   that lies inside a longer matched phrase does not count ("no problem", "plus tard").
// - Affirmative and decline phrases are replies: they count only at the start of a clause, after
//   nothing but fillers ("hi", "thanks", ...) or other replies, so "is it ok if..." or "I have no
//   idea" are not answers. One-word replies, and declines that are also negation cues ("no",
//   "não", "tidak usah"), must moreover be alone in their clause (fillers and other replies
//   aside): "Yes, I'm free" and "Pode" are answers, "Pode me explicar?" and "No tengo tiempo"
//   are not, and neither is "Yes I'm free" (missing a yes is the safe mistake).
// - Call requests and opt-outs count anywhere. When several signals are found, the strongest
//   wins: kOptOut > kDecline > kCallRequest > kAffirmative. Being wrong towards "do not call" is
//   the cheaper mistake, so "No, call me tomorrow" is a decline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchboard::eligibility::rules {

enum class Signal { kNone, kCallRequest, kAffirmative, kDecline, kOptOut };

// "CALL_REQUEST", "AFFIRMATIVE", ... for logs and events.
absl::string_view SignalName(Signal signal);

struct Classification {
  Signal signal = Signal::kNone;
  // The language of the phrase that decided ("und" for language-neutral entries such as 👍);
  // empty for kNone.
  std::string language;
  // The phrase as written in the data; for a negated request "<cue> … <request>" (or
  // "<request> … <cue>"). Empty for kNone.
  std::string matched_phrase;
};

// One phrase, as the built-in data and tenant extras are written.
//   kind: "call_request", "affirmative", "decline", "opt_out" (signals);
//         "negation_before", "negation_after" (cues that turn a following / preceding call
//         request into an opt-out); "neutral" (idioms that only mask their words, e.g.
//         "don't worry"); "filler" (greetings and interjections allowed before a reply).
//         Case-insensitive.
//   language: an ISO 639 code ("pt", "pt-BR" is read as "pt"), or "und" for entries that apply
//         whatever the tenant's languages (emoji).
//   text: any case, accents and punctuation; it is normalized like the messages.
struct ExtraPhrase {
  std::string language;
  std::string kind;
  std::string text;
};

// The built-in lists (phrases.cc), in the same shape as tenant extras so they can be listed side
// by side.
const std::vector<ExtraPhrase>& BuiltinPhrases();

// Normalized phrases indexed for matching; defined in text_signals.cc.
struct PhraseSet;

class TextClassifier {
 public:
  // Built-in lists for en, es, pt, fr, de, hi, id (and "und" emoji).
  static const TextClassifier& Default();

  // The built-in lists plus a tenant's extra phrases. An entry with empty (or all-punctuation)
  // text, an unknown kind or a malformed language is INVALID_ARGUMENT with reason
  // INVALID_EXTRA_PHRASE and metadata index/field/value.
  static absl::StatusOr<TextClassifier> WithExtras(const std::vector<ExtraPhrase>& extras);

  // `languages`: the tenant's enabled languages, in preference order (empty = all). "und"
  // entries always apply. When one phrase exists in several languages, the first enabled
  // language (or the built-in order en, es, pt, fr, de, hi, id) is reported.
  Classification Classify(absl::string_view text,
                          const std::vector<std::string>& languages = {}) const;

 private:
  explicit TextClassifier(std::shared_ptr<const PhraseSet> phrases);

  std::shared_ptr<const PhraseSet> phrases_;  // immutable, shared by copies
};

// Lower-cased (full case folding, NFKC), Latin accents removed, apostrophes dropped,
// punctuation and emoji replaced by spaces (👍 👎 👌 kept as tokens), whitespace collapsed.
// Devanagari vowel signs are kept; only the nukta is dropped, since casual typing omits it.
std::string Normalize(absl::string_view text);

}  // namespace switchboard::eligibility::rules
