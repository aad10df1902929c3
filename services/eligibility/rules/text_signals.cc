#include "services/eligibility/rules/text_signals.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/error.h"

namespace switchboard::eligibility::rules {

// ------------------------------------------------------------------------------ normalization
namespace {

// Markers the internal normalization leaves between tokens. They cannot clash with text: every
// other ASCII punctuation character has become a space by then.
constexpr char kSentenceMark = '.';
constexpr char kClauseMark = ',';

enum class BreakKind { kNone, kClause, kSentence };

BreakKind BreakOf(UChar32 c) {
  switch (c) {
    case '.':
    case '!':
    case '?':
    case ';':
    case '\n':
    case '\r':
    case 0x00A1:  // ¡
    case 0x00BF:  // ¿
    case 0x0964:  // । Devanagari danda
    case 0x0965:  // ॥
    case 0x2028:  // line separator
    case 0x2029:  // paragraph separator
    case 0x3002:  // 。
      return BreakKind::kSentence;
    case ',':
    case ':':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '"':
    case 0x00AB:  // «
    case 0x00BB:  // »
    case 0x060C:  // Arabic comma
    case 0x2013:  // en dash
    case 0x2014:  // em dash
    case 0x201C:  // “
    case 0x201D:  // ”
    case 0x3001:  // 、
      return BreakKind::kClause;
    default:
      return BreakKind::kNone;
  }
}

// Dropped without a space, so contractions and elisions stay one token: "don't" -> "dont",
// "m'appelez" -> "mappelez". People type them with and without the apostrophe.
bool IsApostrophe(UChar32 c) {
  return c == '\'' || c == '`' || c == 0x2018 || c == 0x2019 || c == 0x02BC || c == 0x2032;
}

// The emoji that carry a reply. Mapped to words before anything else, so the data can list
// "👍" and a message "👍🏽" still matches (the skin tone modifier becomes a space).
const char* EmojiToken(UChar32 c) {
  switch (c) {
    case 0x1F44D:
      return "thumbsup";
    case 0x1F44E:
      return "thumbsdown";
    case 0x1F44C:
      return "okhand";
    default:
      return nullptr;
  }
}

constexpr UChar32 kDevanagariNukta = 0x093C;

// Text with tokens separated by single spaces and standalone '.' / ',' tokens at sentence and
// clause breaks.
std::string NormalizeWithBreaks(absl::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(status);
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) {
    // ICU's normalization data is compiled into libicudata; missing data is a broken install.
    std::fprintf(stderr, "text_signals: ICU normalizers unavailable: %s\n", u_errorName(status));
    std::abort();
  }

  // 1. Reply emoji to words; the spacing acute accent to an apostrophe (NFKC would turn it into
  //    a space plus a combining accent and split the word).
  icu::UnicodeString raw = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString mapped;
  for (int32_t i = 0; i < raw.length();) {
    UChar32 c = raw.char32At(i);
    i += U16_LENGTH(c);
    if (const char* token = EmojiToken(c)) {
      mapped.append(u' ').append(icu::UnicodeString(token, -1, icu::UnicodeString::kInvariant));
      mapped.append(u' ');
    } else if (c == 0x00B4) {
      mapped.append(static_cast<UChar32>('\''));
    } else {
      mapped.append(c);
    }
  }

  // 2. Compatibility forms (full-width, ligatures, styled letters) and case folded together;
  //    this also removes default-ignorables such as joiners and variation selectors.
  icu::UnicodeString folded = nfkc_cf->normalize(mapped, status);
  // 3. Decomposed, so accents are separate marks.
  icu::UnicodeString decomposed = nfd->normalize(folded, status);
  if (U_FAILURE(status)) return "";

  // 4. Keep letters, digits and the marks of non-Latin letters (Devanagari vowel signs carry
  //    meaning); drop Latin accents; everything else is a space or a break marker.
  enum class Base { kNone, kLatin, kOther };
  Base base = Base::kNone;
  icu::UnicodeString kept;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (IsApostrophe(c)) continue;
    const uint32_t category = U_MASK(u_charType(c));
    if (category & U_GC_L_MASK) {
      UErrorCode script_status = U_ZERO_ERROR;
      base = uscript_getScript(c, &script_status) == USCRIPT_LATIN ? Base::kLatin : Base::kOther;
      kept.append(c);
    } else if (category & U_GC_M_MASK) {
      // The nukta is routinely omitted in casual Hindi typing ("फोन" for "फ़ोन").
      if (base == Base::kOther && c != kDevanagariNukta) kept.append(c);
    } else if (category & U_GC_N_MASK) {
      base = Base::kNone;
      kept.append(c);
    } else if (category & U_GC_CF_MASK) {
      continue;  // format characters that survived NFKC_Casefold
    } else {
      base = Base::kNone;
      switch (BreakOf(c)) {
        case BreakKind::kSentence:
          kept.append(u" . ");
          break;
        case BreakKind::kClause:
          kept.append(u" , ");
          break;
        case BreakKind::kNone:
          kept.append(u' ');
          break;
      }
    }
  }
  icu::UnicodeString composed = nfc->normalize(kept, status);
  if (U_FAILURE(status)) return "";
  std::string utf8;
  composed.toUTF8String(utf8);

  // 5. Collapse whitespace.
  std::vector<absl::string_view> tokens = absl::StrSplit(utf8, ' ', absl::SkipEmpty());
  return absl::StrJoin(tokens, " ");
}

bool IsMarker(absl::string_view token) {
  return token.size() == 1 && (token[0] == kSentenceMark || token[0] == kClauseMark);
}

}  // namespace

std::string Normalize(absl::string_view text) {
  std::string with_breaks = NormalizeWithBreaks(text);
  std::vector<absl::string_view> tokens;
  for (absl::string_view token : absl::StrSplit(with_breaks, ' ', absl::SkipEmpty())) {
    if (!IsMarker(token)) tokens.push_back(token);
  }
  return absl::StrJoin(tokens, " ");
}

absl::string_view SignalName(Signal signal) {
  switch (signal) {
    case Signal::kNone:
      return "NONE";
    case Signal::kCallRequest:
      return "CALL_REQUEST";
    case Signal::kAffirmative:
      return "AFFIRMATIVE";
    case Signal::kDecline:
      return "DECLINE";
    case Signal::kOptOut:
      return "OPT_OUT";
  }
  return "UNKNOWN";
}

// ------------------------------------------------------------------------------ phrase set
namespace {

// Listed in tie-break order: when two overlapping matches have the same length, the earlier
// kind wins (signals before idioms, stronger signals first).
enum class Kind {
  kOptOut,
  kDecline,
  kCallRequest,
  kAffirmative,
  kNeutral,
  kFiller,
  kNegationBefore,
  kNegationAfter,
};

struct KindName {
  absl::string_view name;
  Kind kind;
};
constexpr KindName kKindNames[] = {
    {"call_request", Kind::kCallRequest},
    {"affirmative", Kind::kAffirmative},
    {"decline", Kind::kDecline},
    {"opt_out", Kind::kOptOut},
    {"negation_before", Kind::kNegationBefore},
    {"negation_after", Kind::kNegationAfter},
    {"neutral", Kind::kNeutral},
    {"filler", Kind::kFiller},
};

bool IsCue(Kind kind) { return kind == Kind::kNegationBefore || kind == Kind::kNegationAfter; }
bool IsReply(Kind kind) { return kind == Kind::kAffirmative || kind == Kind::kDecline; }

// "pt-BR" -> "pt"; empty when malformed.
std::string PrimaryLanguage(absl::string_view tag) {
  std::string primary = absl::AsciiStrToLower(tag.substr(0, tag.find_first_of("-_")));
  if (primary.size() < 2 || primary.size() > 3) return "";
  for (char c : primary) {
    if (c < 'a' || c > 'z') return "";
  }
  return primary;
}

constexpr absl::string_view kUniversal = "und";
constexpr size_t kMaxPhraseBytes = 256;

}  // namespace

struct PhraseSet {
  struct Entry {
    std::string language;
    Kind kind;
    std::vector<std::string> tokens;
    std::string text;  // as written, for Classification::matched_phrase
    // A decline that is also a negation cue of its language ("no", "não", "tidak"): counts only
    // when it stands alone in its clause.
    bool bare_negator = false;
  };
  std::vector<Entry> entries;
  std::unordered_map<std::string, std::vector<int>> by_first_token;
  std::map<std::string, int> language_order;  // first appearance; reports prefer earlier ones

  absl::Status Add(const ExtraPhrase& phrase, size_t index) {
    auto invalid = [&](absl::string_view field, absl::string_view value, absl::string_view why) {
      return core::InvalidArgument("INVALID_EXTRA_PHRASE",
                                   absl::StrCat("phrase ", index, ": ", why),
                                   {{"index", absl::StrCat(index)},
                                    {"field", std::string(field)},
                                    {"value", std::string(value)}});
    };
    std::optional<Kind> kind;
    const std::string kind_name = absl::AsciiStrToLower(phrase.kind);
    for (const KindName& k : kKindNames) {
      if (k.name == kind_name) kind = k.kind;
    }
    if (!kind) {
      return invalid("kind", phrase.kind,
                     absl::StrCat("unknown kind '", phrase.kind,
                                  "' (want call_request, affirmative, decline, opt_out, "
                                  "negation_before, negation_after, neutral or filler)"));
    }
    const std::string language = PrimaryLanguage(phrase.language);
    if (language.empty()) {
      return invalid("language", phrase.language,
                     absl::StrCat("language '", phrase.language,
                                  "' is not an ISO 639 code such as 'en', 'pt-BR' or 'und'"));
    }
    if (phrase.text.size() > kMaxPhraseBytes) {
      return invalid("text", phrase.text.substr(0, 32),
                     absl::StrCat("text longer than ", kMaxPhraseBytes, " bytes"));
    }
    std::vector<std::string> tokens =
        absl::StrSplit(Normalize(phrase.text), ' ', absl::SkipEmpty());
    if (tokens.empty()) {
      return invalid("text", phrase.text, "text is empty once case, punctuation and emoji go");
    }
    language_order.emplace(language, static_cast<int>(language_order.size()));
    by_first_token[tokens.front()].push_back(static_cast<int>(entries.size()));
    entries.push_back({language, *kind, std::move(tokens), phrase.text});
    return absl::OkStatus();
  }

  void MarkBareNegators() {
    std::set<std::pair<std::string, std::vector<std::string>>> cues;
    for (const Entry& e : entries) {
      if (e.kind == Kind::kNegationBefore) cues.emplace(e.language, e.tokens);
    }
    for (Entry& e : entries) {
      e.bare_negator = e.kind == Kind::kDecline && cues.count({e.language, e.tokens}) > 0;
    }
  }

  // `base` plus `phrases`; the copy keeps tenant sets from re-normalizing the built-in data.
  static absl::StatusOr<std::shared_ptr<const PhraseSet>> Extend(
      const PhraseSet& base, const std::vector<ExtraPhrase>& phrases) {
    auto set = std::make_shared<PhraseSet>(base);
    for (size_t i = 0; i < phrases.size(); ++i) {
      if (absl::Status s = set->Add(phrases[i], i); !s.ok()) return s;
    }
    set->MarkBareNegators();
    return std::shared_ptr<const PhraseSet>(std::move(set));
  }
};

// ------------------------------------------------------------------------------ classifier
namespace {

// A negation cue negates a call request when at most this many tokens separate them.
constexpr int kNegationGap = 2;

struct Sentence {
  std::vector<std::string> tokens;
  std::vector<int> clause;  // clause number of each token
};

std::vector<Sentence> Segment(absl::string_view text) {
  std::vector<Sentence> sentences(1);
  int clause = 0;
  for (absl::string_view token :
       absl::StrSplit(NormalizeWithBreaks(text), ' ', absl::SkipEmpty())) {
    if (token.size() == 1 && token[0] == kSentenceMark) {
      if (!sentences.back().tokens.empty()) sentences.emplace_back();
      clause = 0;
    } else if (token.size() == 1 && token[0] == kClauseMark) {
      ++clause;
    } else {
      sentences.back().tokens.emplace_back(token);
      sentences.back().clause.push_back(clause);
    }
  }
  return sentences;
}

struct Match {
  int start;
  int end;  // exclusive
  int entry;
  int length() const { return end - start; }
};

int SignalRank(Signal s) {
  switch (s) {
    case Signal::kNone:
      return 0;
    case Signal::kAffirmative:
      return 1;
    case Signal::kCallRequest:
      return 2;
    case Signal::kDecline:
      return 3;
    case Signal::kOptOut:
      return 4;
  }
  return 0;
}

class SentenceClassifier {
 public:
  SentenceClassifier(const PhraseSet& set, const Sentence& sentence,
                     const std::map<std::string, int>& language_rank)
      : set_(set), s_(sentence), language_rank_(language_rank) {}

  // Folds this sentence's signals into `best` (stronger signals replace weaker ones; among
  // equals the earliest stays).
  void Classify(Classification& best) {
    FindMatches();
    SelectContent();
    std::sort(accepted_.begin(), accepted_.end(),
              [](const Match& a, const Match& b) { return a.start < b.start; });
    for (const Match& m : accepted_) {
      const PhraseSet::Entry& e = Entry(m);
      Classification c{Signal::kNone, e.language, e.text};
      switch (e.kind) {
        case Kind::kOptOut:
          c.signal = Signal::kOptOut;
          break;
        case Kind::kCallRequest:
          if (const Match* cue = NegationOf(m)) {
            c.signal = Signal::kOptOut;
            c.matched_phrase = cue->start < m.start ? absl::StrCat(Entry(*cue).text, " … ", e.text)
                                                    : absl::StrCat(e.text, " … ", Entry(*cue).text);
          } else {
            c.signal = Signal::kCallRequest;
          }
          break;
        case Kind::kAffirmative:
          if (CountsAsReply(m) && NegationOf(m) == nullptr) c.signal = Signal::kAffirmative;
          break;
        case Kind::kDecline:
          if (CountsAsReply(m)) c.signal = Signal::kDecline;
          break;
        default:
          break;
      }
      if (SignalRank(c.signal) > SignalRank(best.signal)) best = std::move(c);
    }
  }

 private:
  const PhraseSet::Entry& Entry(const Match& m) const { return set_.entries[m.entry]; }
  int LanguageRank(const std::string& language) const {
    auto it = language_rank_.find(language);
    return it == language_rank_.end() ? -1 : it->second;
  }

  void FindMatches() {
    const int n = static_cast<int>(s_.tokens.size());
    for (int i = 0; i < n; ++i) {
      auto it = set_.by_first_token.find(s_.tokens[i]);
      if (it == set_.by_first_token.end()) continue;
      for (int id : it->second) {
        const PhraseSet::Entry& e = set_.entries[id];
        if (LanguageRank(e.language) < 0) continue;  // not enabled
        const int len = static_cast<int>(e.tokens.size());
        if (i + len > n || !std::equal(e.tokens.begin(), e.tokens.end(), s_.tokens.begin() + i)) {
          continue;
        }
        (IsCue(e.kind) ? cues_ : candidates_).push_back({i, i + len, id});
      }
    }
  }

  // Longest first; then by kind (tie-break order), position and language preference. A match
  // that overlaps an accepted one is dropped, which is how idioms mask their words.
  void SelectContent() {
    std::sort(candidates_.begin(), candidates_.end(), [&](const Match& a, const Match& b) {
      if (a.length() != b.length()) return a.length() > b.length();
      if (Entry(a).kind != Entry(b).kind) return Entry(a).kind < Entry(b).kind;
      if (a.start != b.start) return a.start < b.start;
      return LanguageRank(Entry(a).language) < LanguageRank(Entry(b).language);
    });
    owner_.assign(s_.tokens.size(), std::nullopt);
    for (const Match& m : candidates_) {
      bool free = true;
      for (int t = m.start; t < m.end; ++t) free = free && !owner_[t];
      if (!free) continue;
      for (int t = m.start; t < m.end; ++t) owner_[t] = m;
      accepted_.push_back(m);
    }
  }

  // A cue inside a longer accepted phrase is part of an idiom ("no problem"), not a negation.
  bool CueCounts(const Match& cue) const {
    for (int t = cue.start; t < cue.end; ++t) {
      const std::optional<Match>& owner = owner_[t];
      if (owner && owner->length() > cue.length() && owner->start <= cue.start &&
          owner->end >= cue.end) {
        return false;
      }
    }
    return true;
  }

  const Match* NegationOf(const Match& m) const {
    const std::string& language = Entry(m).language;
    const Match* nearest = nullptr;
    int nearest_gap = kNegationGap + 1;
    for (const Match& cue : cues_) {
      const PhraseSet::Entry& c = Entry(cue);
      if (c.language != language && c.language != kUniversal) continue;
      int gap;
      if (c.kind == Kind::kNegationBefore && cue.start < m.start &&
          s_.clause[cue.start] == s_.clause[m.start]) {
        gap = m.start - cue.end;
      } else if (c.kind == Kind::kNegationAfter && cue.end > m.end && cue.start > m.start &&
                 s_.clause[cue.start] == s_.clause[m.end - 1]) {
        gap = cue.start - m.end;
      } else {
        continue;
      }
      if (gap <= kNegationGap && gap < nearest_gap && CueCounts(cue)) {
        nearest = &cue;
        nearest_gap = gap;
      }
    }
    return nearest;
  }

  bool FillerOrReply(int t) const {
    if (!owner_[t]) return false;
    const Kind kind = Entry(*owner_[t]).kind;
    return kind == Kind::kFiller || IsReply(kind);
  }

  // A one-word reply ("yes", "pode", "ya") or a decline that doubles as a negation cue ("no",
  // "tidak usah") is too often the first word of an unrelated sentence ("Ya llegó", "Pode me
  // explicar?", "No tengo tiempo"), so it counts only when its clause holds nothing else.
  bool CountsAsReply(const Match& m) const {
    if (!Anchored(m)) return false;
    if (m.length() > 1 && !Entry(m).bare_negator) return true;
    return Standalone(m);
  }

  // Only fillers and other replies before it in its clause.
  bool Anchored(const Match& m) const {
    for (int t = m.start - 1; t >= 0 && s_.clause[t] == s_.clause[m.start]; --t) {
      if (!FillerOrReply(t)) return false;
    }
    return true;
  }

  // Only fillers and other replies after it in its clause.
  bool Standalone(const Match& m) const {
    const int n = static_cast<int>(s_.tokens.size());
    for (int t = m.end; t < n && s_.clause[t] == s_.clause[m.end - 1]; ++t) {
      if (!FillerOrReply(t)) return false;
    }
    return true;
  }

  const PhraseSet& set_;
  const Sentence& s_;
  const std::map<std::string, int>& language_rank_;
  std::vector<Match> candidates_;
  std::vector<Match> cues_;
  std::vector<Match> accepted_;
  std::vector<std::optional<Match>> owner_;  // the accepted match covering each token
};

}  // namespace

TextClassifier::TextClassifier(std::shared_ptr<const PhraseSet> phrases)
    : phrases_(std::move(phrases)) {}

const TextClassifier& TextClassifier::Default() {
  static const TextClassifier* const classifier = [] {
    absl::StatusOr<std::shared_ptr<const PhraseSet>> set =
        PhraseSet::Extend(PhraseSet{}, BuiltinPhrases());
    if (!set.ok()) {
      // The built-in data is part of the binary; a bad entry is a bug to fail on, loudly.
      std::fprintf(stderr, "text_signals: built-in phrases: %s\n", set.status().ToString().c_str());
      std::abort();
    }
    return new TextClassifier(*std::move(set));
  }();
  return *classifier;
}

absl::StatusOr<TextClassifier> TextClassifier::WithExtras(const std::vector<ExtraPhrase>& extras) {
  absl::StatusOr<std::shared_ptr<const PhraseSet>> set =
      PhraseSet::Extend(*Default().phrases_, extras);
  if (!set.ok()) return set.status();
  return TextClassifier(*std::move(set));
}

Classification TextClassifier::Classify(absl::string_view text,
                                        const std::vector<std::string>& languages) const {
  // Rank of each enabled language for reporting; absent = disabled.
  std::map<std::string, int> rank;
  rank.emplace(std::string(kUniversal), 0);
  if (languages.empty()) {
    for (const auto& [language, order] : phrases_->language_order) rank.emplace(language, order);
  } else {
    for (const std::string& tag : languages) {
      std::string primary = PrimaryLanguage(tag);
      if (!primary.empty()) rank.emplace(primary, static_cast<int>(rank.size()));
    }
  }
  Classification best;
  for (const Sentence& sentence : Segment(text)) {
    SentenceClassifier classifier(*phrases_, sentence, rank);
    classifier.Classify(best);
  }
  if (best.signal == Signal::kNone) return Classification{};
  return best;
}

}  // namespace switchboard::eligibility::rules
