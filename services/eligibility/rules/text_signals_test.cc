#include "services/eligibility/rules/text_signals.h"

#include <catch2/catch.hpp>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "libs/core/error.h"

namespace switchboard::eligibility::rules {
// Lets Catch print signals in failure messages.
std::ostream& operator<<(std::ostream& os, Signal signal) { return os << SignalName(signal); }
}  // namespace switchboard::eligibility::rules

namespace {

using switchboard::core::MetadataOf;
using switchboard::core::ReasonOf;
using switchboard::eligibility::rules::Classification;
using switchboard::eligibility::rules::ExtraPhrase;
using switchboard::eligibility::rules::Normalize;
using switchboard::eligibility::rules::Signal;
using switchboard::eligibility::rules::TextClassifier;

constexpr Signal kNone = Signal::kNone;
constexpr Signal kRequest = Signal::kCallRequest;
constexpr Signal kYes = Signal::kAffirmative;
constexpr Signal kDecline = Signal::kDecline;
constexpr Signal kOptOut = Signal::kOptOut;

struct Case {
  const char* language;  // the tenant's only enabled language for this case
  const char* text;
  Signal want;
};

// Every expectation below is written by hand from what the message means.
const Case kCases[] = {
    // ------------------------------------------------------------------------------------- en
    {"en", "Call me 📞🙏", kRequest},
    {"en", "Can you call me?", kRequest},
    {"en", "please give me a call tomorrow", kRequest},
    {"en", "CALL ME BACK!!!", kRequest},
    {"en", "I can't talk now, call me later", kRequest},
    {"en", "no problem, call me", kRequest},
    {"en", "Why don't you call me?", kRequest},
    {"en", "I'd like a call please", kRequest},
    {"en", "I don't know call me", kRequest},
    {"en", "yes", kYes},
    {"en", "Yes!", kYes},
    {"en", "ok", kYes},
    {"en", "OK 👍", kYes},
    {"en", "Sure, go ahead", kYes},
    {"en", "👍", kYes},
    {"en", "okay", kYes},
    {"en", "Hi, yes please", kYes},
    {"en", "No problem", kYes},
    {"en", "no", kDecline},
    {"en", "No thanks", kDecline},
    {"en", "not now", kDecline},
    {"en", "Not now, maybe later", kDecline},
    {"en", "👎", kDecline},
    {"en", "absolutely not", kDecline},
    {"en", "don't call me", kOptOut},
    {"en", "Please do not call", kOptOut},
    {"en", "DONT CALL ME!!!", kOptOut},
    {"en", "stop calling me", kOptOut},
    {"en", "yes, but don't call", kOptOut},
    {"en", "Never call me again", kOptOut},
    {"en", "don't ever call me", kOptOut},
    {"en", "I don't want to be called", kOptOut},
    {"en", "what time do you open?", kNone},
    {"en", "my order is late", kNone},
    {"en", "booking for 2 people", kNone},
    {"en", "I called yesterday", kNone},
    {"en", "Is it ok if I come at 5?", kNone},
    {"en", "No one answered my email", kNone},
    {"en", "Did you call me?", kNone},
    {"en", "I will call you back", kNone},
    {"en", "No I can't find my receipt", kNone},

    // ------------------------------------------------------------------------------------- es
    {"es", "LLÁMAME!!!", kRequest},
    {"es", "llamame", kRequest},
    {"es", "¿Me puedes llamar?", kRequest},
    {"es", "Llámame mañana por la mañana", kRequest},
    {"es", "No tengo tiempo ahora, llámame luego", kRequest},
    {"es", "Quiero una llamada por favor", kRequest},
    {"es", "¿pueden llamarme hoy?", kRequest},
    {"es", "No te preocupes, llámame", kRequest},
    {"es", "Sí", kYes},
    {"es", "si", kYes},
    {"es", "Sí, claro", kYes},
    {"es", "Claro que sí 👍", kYes},
    {"es", "Vale", kYes},
    {"es", "de acuerdo", kYes},
    {"es", "Dale!", kYes},
    {"es", "No", kDecline},
    {"es", "No, gracias", kDecline},
    {"es", "ahora no", kDecline},
    {"es", "Mejor no", kDecline},
    {"es", "👎", kDecline},
    {"es", "no me llames", kOptOut},
    {"es", "No me llames más", kOptOut},
    {"es", "¡Por favor, no me llames!", kOptOut},
    {"es", "Deja de llamarme", kOptOut},
    {"es", "No quiero que me llamen", kOptOut},
    {"es", "Nunca me llames", kOptOut},
    {"es", "no vuelvan a llamarme", kOptOut},
    {"es", "Sí, pero no me llamen", kOptOut},
    {"es", "¿A qué hora abren?", kNone},
    {"es", "Mi pedido llegó tarde", kNone},
    {"es", "Reserva para 2 personas", kNone},
    {"es", "Ayer llamé", kNone},
    {"es", "Me llamo Juan", kNone},
    {"es", "No funciona la aplicación", kNone},
    {"es", "¿Por qué me llamas?", kNone},

    // ------------------------------------------------------------------------------------- pt
    {"pt", "Ligue para mim", kRequest},
    {"pt", "me liga amanhã", kRequest},
    {"pt", "Pode me ligar?", kRequest},
    {"pt", "LIGA PRA MIM!!", kRequest},
    {"pt", "Quero uma ligação, por favor", kRequest},
    {"pt", "Não posso falar agora, me liga depois", kRequest},
    {"pt", "Você pode me ligar às 15h?", kRequest},
    {"pt", "Sim", kYes},
    {"pt", "sim, pode", kYes},
    {"pt", "Pode", kYes},
    {"pt", "Claro", kYes},
    {"pt", "Com certeza!", kYes},
    {"pt", "Beleza 👍", kYes},
    {"pt", "tá bom", kYes},
    {"pt", "Não", kDecline},
    {"pt", "Não, obrigado", kDecline},
    {"pt", "Agora não", kDecline},
    {"pt", "não obrigada 👎", kDecline},
    {"pt", "Melhor não", kDecline},
    {"pt", "Não me ligue", kOptOut},
    {"pt", "nao me liga", kOptOut},
    {"pt", "Por favor, não me ligue mais", kOptOut},
    {"pt", "Pare de me ligar!", kOptOut},
    {"pt", "Parem de ligar", kOptOut},
    {"pt", "Não quero ligações", kOptOut},
    {"pt", "Sim, mas não me ligue", kOptOut},
    {"pt", "Não precisa me ligar", kOptOut},
    {"pt", "Que horas vocês abrem?", kNone},
    {"pt", "Meu pedido está atrasado", kNone},
    {"pt", "Reserva para 2 pessoas", kNone},
    {"pt", "Eu liguei ontem", kNone},
    {"pt", "Não recebi meu pedido", kNone},
    {"pt", "Me chamo João", kNone},

    // ------------------------------------------------------------------------------------- fr
    {"fr", "Appelez-moi", kRequest},
    {"fr", "appelle moi stp", kRequest},
    {"fr", "Pouvez-vous m'appeler ?", kRequest},
    {"fr", "Rappelez-moi demain", kRequest},
    {"fr", "Je ne peux pas parler, appelez-moi plus tard", kRequest},
    {"fr", "Appelez-moi plus tard", kRequest},
    {"fr", "Vous pouvez m'appeler au plus vite ?", kRequest},
    {"fr", "Oui", kYes},
    {"fr", "oui merci", kYes},
    {"fr", "D'accord", kYes},
    {"fr", "daccord 👍", kYes},
    {"fr", "Bien sûr !", kYes},
    {"fr", "Pas de problème", kYes},
    {"fr", "Avec plaisir", kYes},
    {"fr", "Non", kDecline},
    {"fr", "Non merci", kDecline},
    {"fr", "Pas maintenant", kDecline},
    {"fr", "non, pas maintenant", kDecline},
    {"fr", "👎", kDecline},
    {"fr", "Ne m'appelez pas", kOptOut},
    {"fr", "ne m'appelez plus svp", kOptOut},
    {"fr", "N'appelez pas", kOptOut},
    {"fr", "Arrêtez de m'appeler !", kOptOut},
    {"fr", "Je ne veux pas être appelé", kOptOut},
    {"fr", "oui mais ne m'appelez pas", kOptOut},
    {"fr", "Merci de ne pas m'appeler", kOptOut},
    {"fr", "Vous ouvrez à quelle heure ?", kNone},
    {"fr", "Ma commande est en retard", kNone},
    {"fr", "Réservation pour 2 personnes", kNone},
    {"fr", "J'ai appelé hier", kNone},
    {"fr", "Je m'appelle Marie", kNone},
    {"fr", "Pourquoi vous m'appelez ?", kNone},

    // ------------------------------------------------------------------------------------- de
    {"de", "Ruf mich an", kRequest},
    {"de", "Rufen Sie mich bitte an!", kRequest},
    {"de", "Können Sie mich anrufen?", kRequest},
    {"de", "Bitte um Rückruf", kRequest},
    {"de", "ruf mich morgen zurück", kRequest},
    {"de", "Ich kann gerade nicht sprechen, ruf mich später an", kRequest},
    {"de", "Kein Problem, rufen Sie mich an", kRequest},
    {"de", "Ja", kYes},
    {"de", "ja gerne", kYes},
    {"de", "Gerne!", kYes},
    {"de", "Klar 👍", kYes},
    {"de", "In Ordnung", kYes},
    {"de", "Alles klar", kYes},
    {"de", "Nein", kDecline},
    {"de", "Nein danke", kDecline},
    {"de", "Jetzt nicht", kDecline},
    {"de", "lieber nicht", kDecline},
    {"de", "👎", kDecline},
    {"de", "Ruf mich nicht an", kOptOut},
    {"de", "Rufen Sie mich bitte nicht an", kOptOut},
    {"de", "Bitte nicht anrufen", kOptOut},
    {"de", "Keine Anrufe mehr!", kOptOut},
    {"de", "Hören Sie auf, mich anzurufen", kOptOut},
    {"de", "Ja, aber bitte nicht anrufen", kOptOut},
    {"de", "Ruf mich nie wieder an", kOptOut},
    {"de", "Ruf mich auf keinen Fall an", kOptOut},
    {"de", "Wann öffnen Sie?", kNone},
    {"de", "Meine Bestellung ist spät", kNone},
    {"de", "Reservierung für 2 Personen", kNone},
    {"de", "Ich habe gestern angerufen", kNone},
    {"de", "Ich rufe morgen an", kNone},
    {"de", "Wo ist mein Paket?", kNone},

    // ------------------------------------------------------------------------------------- hi
    {"hi", "मुझे कॉल करो", kRequest},
    {"hi", "mujhe call karo", kRequest},
    {"hi", "Please call kijiye", kRequest},
    {"hi", "कृपया मुझे कॉल करें", kRequest},
    {"hi", "abhi baat nahi kar sakta, baad mein call karna", kRequest},
    {"hi", "mujhe phone karo", kRequest},
    {"hi", "कॉल कर दो!", kRequest},
    {"hi", "हाँ", kYes},
    {"hi", "हां जी", kYes},
    {"hi", "haan", kYes},
    {"hi", "Haan ji 👍", kYes},
    {"hi", "theek hai", kYes},
    {"hi", "ठीक है।", kYes},
    {"hi", "bilkul", kYes},
    {"hi", "नहीं", kDecline},
    {"hi", "nahi", kDecline},
    {"hi", "Nahi, shukriya", kDecline},
    {"hi", "अभी नहीं", kDecline},
    {"hi", "abhi nahi", kDecline},
    {"hi", "mujhe call mat karo", kOptOut},
    {"hi", "मुझे कॉल मत करो", kOptOut},
    {"hi", "call mat karna", kOptOut},
    {"hi", "कॉल नहीं चाहिए", kOptOut},
    {"hi", "Call band karo", kOptOut},
    {"hi", "haan, par call mat karo", kOptOut},
    {"hi", "phone mat karo", kOptOut},
    {"hi", "aap kab khulte ho?", kNone},
    {"hi", "mera order late hai", kNone},
    {"hi", "2 logon ke liye booking", kNone},
    {"hi", "maine kal call kiya tha", kNone},
    {"hi", "मैंने कल कॉल किया था", kNone},
    {"hi", "मेरा ऑर्डर कहाँ है?", kNone},
    {"hi", "nahi mila abhi tak", kNone},

    // ------------------------------------------------------------------------------------- id
    {"id", "Telepon saya", kRequest},
    {"id", "tolong telepon saya besok", kRequest},
    {"id", "Bisa telpon saya?", kRequest},
    {"id", "bisa gak telpon saya?", kRequest},
    {"id", "Minta ditelepon ya", kRequest},
    {"id", "Saya tidak bisa chat, telepon saya saja", kRequest},
    {"id", "Jangan lupa telepon saya ya", kRequest},
    {"id", "Ya", kYes},
    {"id", "iya", kYes},
    {"id", "Boleh", kYes},
    {"id", "ya boleh 👍", kYes},
    {"id", "Oke", kYes},
    {"id", "Siap", kYes},
    {"id", "tidak apa-apa", kYes},
    {"id", "Tidak", kDecline},
    {"id", "tidak, terima kasih", kDecline},
    {"id", "Nanti saja", kDecline},
    {"id", "gak usah", kDecline},
    {"id", "Lain kali", kDecline},
    {"id", "Jangan telepon saya", kOptOut},
    {"id", "jangan telpon saya lagi", kOptOut},
    {"id", "Tolong jangan telepon", kOptOut},
    {"id", "Berhenti menelepon saya!", kOptOut},
    {"id", "Saya tidak mau ditelepon", kOptOut},
    {"id", "Iya, tapi jangan telepon", kOptOut},
    {"id", "jangan ditelepon ya", kOptOut},
    {"id", "Jam berapa buka?", kNone},
    {"id", "Pesanan saya terlambat", kNone},
    {"id", "Booking untuk 2 orang", kNone},
    {"id", "Saya sudah telepon kemarin", kNone},
    {"id", "Kayak apa produknya?", kNone},
    {"id", "Tidak bisa login", kNone},
};

TEST_CASE("the case table covers every language and signal") {
  // Minimums per language: 6 requests, 6 affirmatives, 4 declines, 6 opt-outs, 6 neutral.
  std::map<std::pair<std::string, Signal>, int> count;
  for (const Case& c : kCases) ++count[{c.language, c.want}];
  for (const char* language : {"en", "es", "pt", "fr", "de", "hi", "id"}) {
    INFO(language);
    CHECK(count[{language, kRequest}] >= 6);
    CHECK(count[{language, kYes}] >= 6);
    CHECK(count[{language, kDecline}] >= 4);
    CHECK(count[{language, kOptOut}] >= 6);
    CHECK(count[{language, kNone}] >= 6);
  }
}

TEST_CASE("classifies messages in each language") {
  for (const Case& c : kCases) {
    INFO(c.language << ": " << c.text);
    CHECK(TextClassifier::Default().Classify(c.text, {c.language}).signal == c.want);
  }
}

TEST_CASE("with every language enabled, requests and opt-outs keep their meaning") {
  // Replies may pick up another language's words ("ya" is Indonesian for yes), but a request or
  // opt-out in one language must not be turned around by another language's lists.
  for (const Case& c : kCases) {
    if (c.want != kRequest && c.want != kOptOut) continue;
    INFO(c.language << ": " << c.text);
    CHECK(TextClassifier::Default().Classify(c.text).signal == c.want);
  }
}

TEST_CASE("reports the deciding phrase and its language") {
  const TextClassifier& classifier = TextClassifier::Default();

  Classification c = classifier.Classify("¡Llámame!");
  CHECK(c.signal == kRequest);
  CHECK(c.language == "es");
  CHECK(c.matched_phrase == "llámame");

  c = classifier.Classify("don't ever call me");
  CHECK(c.signal == kOptOut);
  CHECK(c.language == "en");
  CHECK(c.matched_phrase == "don't … call me");

  c = classifier.Classify("Rufen Sie mich bitte nicht an", {"de"});
  CHECK(c.signal == kOptOut);
  CHECK(c.matched_phrase == "rufen sie mich … nicht");

  c = classifier.Classify("👍🏽");
  CHECK(c.signal == kYes);
  CHECK(c.language == "und");
  CHECK(c.matched_phrase == "👍");

  c = classifier.Classify("what time do you open?");
  CHECK(c.signal == kNone);
  CHECK(c.language.empty());
  CHECK(c.matched_phrase.empty());
}

TEST_CASE("matches whole tokens only") {
  const TextClassifier& classifier = TextClassifier::Default();
  CHECK(classifier.Classify("book").signal == kNone);
  CHECK(classifier.Classify("Booking confirmed").signal == kNone);
  CHECK(classifier.Classify("kayak", {"id"}).signal == kNone);
  CHECK(classifier.Classify("okay").matched_phrase == "okay");
  CHECK(classifier.Classify("recall me later?").signal == kNone);
  CHECK(classifier.Classify("Nobody called").signal == kNone);
}

TEST_CASE("negation, idioms and precedence") {
  const TextClassifier& classifier = TextClassifier::Default();
  // An opt-out anywhere wins.
  CHECK(classifier.Classify("Yes please. Actually no, don't call me.").signal == kOptOut);
  CHECK(classifier.Classify("call me... no wait, do not call me").signal == kOptOut);
  // A decline outranks a request: in doubt, do not call.
  CHECK(classifier.Classify("No, call me tomorrow").signal == kDecline);
  CHECK(classifier.Classify("Not now, call me later").signal == kDecline);
  // A request outranks an affirmative.
  CHECK(classifier.Classify("Yes. Call me at 5").signal == kRequest);
  CHECK(classifier.Classify("ok call me").signal == kRequest);
  // The window: a cue at most 2 tokens before the request negates it; 3 is too far.
  CHECK(classifier.Classify("don't you ever call me").signal == kOptOut);
  CHECK(classifier.Classify("never got my parcel call me").signal == kRequest);
  CHECK(classifier.Classify("Don't you dare ever call me").signal == kOptOut);
  // A cue in another clause does not reach the request.
  CHECK(classifier.Classify("I'm not home, call me").signal == kRequest);
  CHECK(classifier.Classify("never mind, call me").signal == kRequest);
  // Idioms mask the negation words inside them.
  CHECK(classifier.Classify("don't worry call me when you can").signal == kRequest);
  CHECK(classifier.Classify("no worries, call me").signal == kRequest);
  CHECK(classifier.Classify("No hay problema, llámame", {"es"}).signal == kRequest);
  CHECK(classifier.Classify("Appelez-moi au plus tôt", {"fr"}).signal == kRequest);
  CHECK(classifier.Classify("mujhe call karo nahi to main order cancel kar dunga", {"hi"}).signal ==
        kRequest);
  // Replies count only at the start of a clause (after greetings).
  CHECK(classifier.Classify("Hi, yes").signal == kYes);
  CHECK(classifier.Classify("hello yes that works").signal == kYes);
  CHECK(classifier.Classify("Is that ok?").signal == kNone);
  CHECK(classifier.Classify("I have no idea").signal == kNone);
  // One-word replies count only on their own (fillers and other replies aside); sentences
  // that merely start with such a word are not replies.
  CHECK(classifier.Classify("Yes, I'm free now").signal == kYes);
  CHECK(classifier.Classify("Yes I'm free now").signal == kNone);
  CHECK(classifier.Classify("lol ok").signal == kYes);
  CHECK(classifier.Classify("Pode", {"pt"}).signal == kYes);
  CHECK(classifier.Classify("Pode me explicar o plano?", {"pt"}).signal == kNone);
  CHECK(classifier.Classify("Ya llegó mi pedido").signal == kNone);
  CHECK(classifier.Classify("Na verdade o pedido chegou").signal == kNone);
  CHECK(classifier.Classify("No thanks I'm fine").signal == kDecline);
  // A bare negation word is a decline only on its own.
  CHECK(classifier.Classify("No.").signal == kDecline);
  CHECK(classifier.Classify("no no no").signal == kDecline);
  CHECK(classifier.Classify("No stock left?").signal == kNone);
  CHECK(classifier.Classify("Não, obrigado!").signal == kDecline);
  CHECK(classifier.Classify("não chegou").signal == kNone);
  // "not now" is never affirmative, whatever follows.
  CHECK(classifier.Classify("ok not now").signal == kDecline);
  CHECK(classifier.Classify("").signal == kNone);
  CHECK(classifier.Classify("!!! 🙏 ...").signal == kNone);
}

TEST_CASE("language filtering") {
  const TextClassifier& classifier = TextClassifier::Default();
  CHECK(classifier.Classify("llámame", {"en"}).signal == kNone);
  CHECK(classifier.Classify("llámame", {"es"}).signal == kRequest);
  CHECK(classifier.Classify("llámame").signal == kRequest);  // empty = all languages
  CHECK(classifier.Classify("ya", {"es"}).signal == kNone);
  CHECK(classifier.Classify("ya", {"id"}).signal == kYes);
  CHECK(classifier.Classify("ligue para mim", {"pt-BR"}).signal == kRequest);
  CHECK(classifier.Classify("Ligue para mim", {"PT"}).signal == kRequest);
  // Language-neutral entries apply whatever is enabled.
  CHECK(classifier.Classify("👍", {"de"}).signal == kYes);
  CHECK(classifier.Classify("👍", {"xx"}).signal == kYes);
  CHECK(classifier.Classify("call me", {"xx"}).signal == kNone);
  // The same phrase in several languages is reported in the preferred one.
  CHECK(classifier.Classify("no").language == "en");
  CHECK(classifier.Classify("no", {"es", "en"}).language == "es");
  CHECK(classifier.Classify("no", {"en", "es"}).language == "en");
  // Negation cues only act on their own language: French "pas" does not negate English.
  CHECK(classifier.Classify("pas call me", {"en", "fr"}).signal == kRequest);
}

TEST_CASE("tenant extras add phrases, cues, idioms and languages") {
  absl::StatusOr<TextClassifier> tenant = TextClassifier::WithExtras({
      {"en", "call_request", "hit me up"},
      {"en", "neutral", "Call Me Maybe"},
      {"it", "call_request", "chiamami"},
      {"it", "call_request", "chiamarmi"},
      {"it", "negation_before", "non"},
      {"it", "affirmative", "sì"},
      {"es", "OPT_OUT", "¡ya no más!"},
  });
  REQUIRE(tenant.ok());
  CHECK(tenant->Classify("Hit me up tomorrow").signal == kRequest);
  CHECK(TextClassifier::Default().Classify("Hit me up tomorrow").signal == kNone);
  CHECK(TextClassifier::Default().Classify("Is the Call Me Maybe shirt in stock?").signal ==
        kRequest);
  CHECK(tenant->Classify("Is the Call Me Maybe shirt in stock?").signal == kNone);
  CHECK(tenant->Classify("Chiamami!", {"it"}).signal == kRequest);
  CHECK(tenant->Classify("Non chiamarmi", {"it"}).signal == kOptOut);
  CHECK(tenant->Classify("Sì", {"it"}).signal == kYes);
  CHECK(tenant->Classify("ya no mas", {"es"}).signal == kOptOut);
  // Built-ins are still there.
  CHECK(tenant->Classify("no me llames").signal == kOptOut);
}

TEST_CASE("invalid extras are rejected with a reason") {
  struct Bad {
    ExtraPhrase phrase;
    const char* field;
  };
  const Bad bad[] = {
      {{"en", "call_request", ""}, "text"},
      {{"en", "call_request", "!!! 🙏"}, "text"},
      {{"en", "request", "call me"}, "kind"},
      {{"en", "", "call me"}, "kind"},
      {{"", "call_request", "call me"}, "language"},
      {{"english", "call_request", "call me"}, "language"},
      {{"e1", "call_request", "call me"}, "language"},
  };
  for (const Bad& b : bad) {
    INFO(b.phrase.language << "/" << b.phrase.kind << "/" << b.phrase.text);
    absl::StatusOr<TextClassifier> tenant =
        TextClassifier::WithExtras({{"en", "affirmative", "yessir"}, b.phrase});
    REQUIRE_FALSE(tenant.ok());
    CHECK(tenant.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(ReasonOf(tenant.status()) == "INVALID_EXTRA_PHRASE");
    CHECK(MetadataOf(tenant.status()).at("field") == b.field);
    CHECK(MetadataOf(tenant.status()).at("index") == "1");
  }
  CHECK(TextClassifier::WithExtras({}).ok());
}

TEST_CASE("Normalize") {
  const std::pair<const char*, const char*> cases[] = {
      {"LLÁMAME!!!", "llamame"},
      {"  Call   me\t📞🙏  ", "call me"},
      {"Don't call me", "dont call me"},
      {"D’accord", "daccord"},
      {"appelez-moi", "appelez moi"},
      {"Straße", "strasse"},
      {"NÃO ME LIGUE", "nao me ligue"},
      {"Ça, c'est là", "ca cest la"},
      {"Ｃａｌｌ ｍｅ", "call me"},
      {"İstanbul", "istanbul"},
      {"hello\nworld. again", "hello world again"},
      {"book", "book"},
      {"👍🏽", "thumbsup"},
      {"👎", "thumbsdown"},
      {"ok👌", "ok okhand"},
      {"", ""},
      {"!!! 🙏 ...", ""},
      // Devanagari keeps its vowel signs and chandrabindu; the danda is punctuation.
      {"मुझे कॉल करो।", "मुझे कॉल करो"},
      {"हाँ", "हाँ"},
      {"हां", "हां"},
      // The nukta is dropped: casual typing omits it.
      {"फ़ोन", "फोन"},
      {"ज़रूर", "जरूर"},
  };
  for (const auto& [in, want] : cases) {
    INFO(in);
    CHECK(Normalize(in) == want);
  }
}

TEST_CASE("every built-in signal phrase, sent alone, gives its own signal") {
  // Catches dead or contradictory data: a phrase masked by a longer one of another kind, or
  // negated by a cue of its own language.
  const std::map<std::string, Signal> want_by_kind = {{"call_request", kRequest},
                                                      {"affirmative", kYes},
                                                      {"decline", kDecline},
                                                      {"opt_out", kOptOut}};
  const auto& phrases = switchboard::eligibility::rules::BuiltinPhrases();
  REQUIRE(phrases.size() > 900);
  int checked = 0;
  for (const ExtraPhrase& p : phrases) {
    auto want = want_by_kind.find(p.kind);
    if (want == want_by_kind.end()) continue;
    INFO(p.language << " " << p.kind << ": " << p.text);
    CHECK(TextClassifier::Default().Classify(p.text, {p.language}).signal == want->second);
    ++checked;
  }
  CHECK(checked > 600);
}

}  // namespace
