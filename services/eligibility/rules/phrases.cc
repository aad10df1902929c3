// The built-in phrase lists of text_signals.h: one block per (language, kind), one phrase per
// line, written as people type them (accents and apostrophes are normalized away at load).
// Lines starting with '#' are comments. Kinds and rules are described in text_signals.h.
//
// Guidelines for editing:
// - Prefer specific multi-word phrases to single words: a single word matches anywhere.
// - Replies (affirmative, decline) count only at the start of a clause. One-word replies, and
//   declines that are also negation cues ("tidak usah"), count only when nothing but fillers and
//   other replies share their clause: "No." and "Pode" are answers, "No tengo tiempo" and
//   "Pode me explicar?" are not.
// - Do not list "I can't"-style phrases as declines: "I can't talk now, call me later" is a
//   request. List them as neutral when they contain a negation cue, so the cue is masked.
// - To stop a negation cue from firing inside an idiom, list the idiom (longer match wins).
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "services/eligibility/rules/text_signals.h"

namespace switchboard::eligibility::rules {
namespace {

struct List {
  const char* language;
  const char* kind;
  const char* phrases;  // one per line
};

// clang-format off
constexpr List kLists[] = {
// ---------------------------------------------------------------------------------- und
// Language-neutral entries: apply whatever the tenant's languages are.
{"und", "affirmative", R"(
ok
okay
okey
oki
okie
okk
👍
👌
)"},
{"und", "decline", R"(
👎
)"},
{"und", "filler", R"(
lol
haha
hahaha
hehe
jaja
jajaja
kkkk
wkwk
)"},

// ---------------------------------------------------------------------------------- en
{"en", "call_request", R"(
call me
give me a call
give me a ring
ring me
phone me
can you call
could you call
would you call
please call
call please
callback
call back please
can i get a call
can i have a call
can we have a call
can we do a call
can we talk on the phone
can we talk by phone
let's talk on the phone
let's have a call
let's do a call
hop on a call
jump on a call
i want a call
i would like a call
i'd like a call
i need a call
request a call
you can call
call my number
)"},
{"en", "affirmative", R"(
k
kk
yes
yeah
yea
yep
yup
sure
sure thing
of course
ofc
absolutely
definitely
certainly
go ahead
please do
yes please
fine
alright
all right
sounds good
that works
works for me
no problem
no prob
why not
thumbs up
i agree
agreed
perfect
great
cool
)"},
{"en", "decline", R"(
# A bare "don't" answers an offer; as a negation cue it only counts on its own.
don't
please don't
no
nope
nah
no thanks
no thank you
not now
not today
not right now
not at the moment
not interested
maybe later
absolutely not
of course not
definitely not
no way
thumbs down
)"},
{"en", "opt_out", R"(
don't call
do not call
don't phone
do not phone
don't ring me
don't contact me
do not contact me
never call
stop calling
stop phoning
stop ringing
quit calling
no more calls
no calls please
no phone calls
i don't want calls
i don't want any calls
i don't want a call
i do not want a call
i don't want to be called
i do not want to be called
remove me from your call list
take me off your call list
leave me alone
)"},
{"en", "negation_before", R"(
# Longer cues reach further: "don't you dare ever call me".
don't you dare
don't you ever
don't
do not
not
never
no
stop
)"},
{"en", "neutral", R"(
# Complaints, not opt-outs: "you never call me back, call me now!"
you never call
never called
# "Don't text me, call me" asks for a call.
don't text
do not text
don't message
don't email
# Negations of other verbs, so "I don't know call me" stays a request.
don't know
do not know
don't understand
do not understand
don't have time
do not have time
don't worry
do not worry
no worries
don't forget
do not forget
don't mind
never mind
why don't you
no one
no idea
not sure
i'm not
i am not
i can not
i could not
no answer
no response
no signal
no matter
if not
not only
did you call
did someone call
did anyone call
)"},
{"en", "filler", R"(
hi
hello
hey
oh
ah
well
hmm
um
thanks
thank you
dear
sir
madam
ma'am
good morning
good afternoon
good evening
)"},

// ---------------------------------------------------------------------------------- es
{"es", "call_request", R"(
llámame
llámeme
llámenme
me puedes llamar
me puede llamar
me pueden llamar
me podrías llamar
me podría llamar
me podrían llamar
puedes llamarme
puede llamarme
pueden llamarme
llamarme
me llamas
quiero una llamada
quisiera una llamada
necesito una llamada
me gustaría una llamada
quiero que me llamen
llamada por favor
márcame
márqueme
me marcas
hablemos por teléfono
devuélveme la llamada
regrésame la llamada
)"},
{"es", "affirmative", R"(
sí
si claro
claro
claro que sí
por supuesto
vale
de acuerdo
dale
bueno
perfecto
está bien
sí por favor
adelante
con gusto
sin problema
no hay problema
por qué no
listo
genial
seguro
)"},
{"es", "decline", R"(
no
no gracias
ahora no
no por ahora
mejor no
todavía no
claro que no
por supuesto que no
para nada
de ninguna manera
en otro momento
no me interesa
no estoy interesado
no estoy interesada
)"},
{"es", "opt_out", R"(
no me llames
no me llame
no me llamen
no llames
no llamen
no me vuelvas a llamar
no me vuelva a llamar
no me vuelvan a llamar
deja de llamarme
deje de llamarme
dejen de llamarme
deja de llamar
dejen de llamar
no quiero llamadas
no quiero que me llamen
no quiero recibir llamadas
no más llamadas
nunca me llames
sin llamadas por favor
no me marques
no me marquen
no me contacten
basta de llamadas
)"},
{"es", "negation_before", R"(
no
no me
nunca
jamás
ni
deja de
deje de
dejen de
)"},
{"es", "neutral", R"(
no me escribas
no me escriban
no escribas
no entiendo
no tengo tiempo
no te preocupes
no se preocupe
no se preocupen
no importa
no olvides
no olvide
no olviden
no puedo
si no
ni idea
por qué me llamas
por qué me llaman
)"},
{"es", "filler", R"(
hola
buenas
buenos días
buenas tardes
buenas noches
oye
pues
gracias
muchas gracias
señor
señora
ah
oh
)"},

// ---------------------------------------------------------------------------------- pt
{"pt", "call_request", R"(
me liga
me ligue
me liguem
me ligar
liga pra mim
liga para mim
ligue pra mim
ligue para mim
liguem pra mim
liguem para mim
pode ligar
podem ligar
me telefona
me telefone
telefone para mim
quero uma ligação
gostaria de uma ligação
preciso de uma ligação
ligação por favor
me retorne a ligação
retorne a ligação
me dá uma ligada
me dê uma ligada
)"},
{"pt", "affirmative", R"(
sim
sim pode
pode sim
pode
pode ser
claro
claro que sim
com certeza
certo
beleza
blz
tá bom
tá bem
tá certo
está bem
tudo bem
combinado
fechado
perfeito
ótimo
isso mesmo
sem problema
sem problemas
não tem problema
por que não
pq não
bora
)"},
{"pt", "decline", R"(
não
não obrigado
não obrigada
agora não
não agora
melhor não
ainda não
claro que não
de jeito nenhum
nem pensar
não tenho interesse
sem interesse
não estou interessado
não estou interessada
outra hora
fica pra próxima
)"},
{"pt", "opt_out", R"(
não me ligue
não me liga
não me liguem
não ligue
não liguem
não ligar
não me telefone
nunca me ligue
nunca mais me ligue
não me ligue mais
pare de me ligar
pare de ligar
para de me ligar
para de ligar
parem de me ligar
parem de ligar
chega de ligação
chega de ligações
não quero ligação
não quero ligações
não quero receber ligações
sem ligações por favor
)"},
{"pt", "negation_before", R"(
não
nunca
jamais
nem
pare de
para de
parem de
chega de
)"},
{"pt", "neutral", R"(
não me mande mensagem
não mande mensagem
não escreva
não entendi
não entendo
não tenho tempo
não se preocupe
não se preocupa
não esqueça
não esquece
não esqueçam
não posso
não consigo
não sei
não importa
se não
)"},
{"pt", "filler", R"(
oi
olá
bom dia
boa tarde
boa noite
obrigado
obrigada
valeu
ah
opa
então
senhor
senhora
)"},

// ---------------------------------------------------------------------------------- fr
// Elision: "m'appeler" is normalized to "mappeler", "d'accord" to "daccord".
{"fr", "call_request", R"(
appelez-moi
appelle-moi
rappelez-moi
rappelle-moi
téléphonez-moi
téléphone-moi
m'appeler
me rappeler
m'appelez
tu m'appelles
un appel svp
un appel s'il vous plaît
j'aimerais un appel
je voudrais un appel
je veux un appel
j'ai besoin d'un appel
passez-moi un coup de fil
passe-moi un coup de fil
donnez-moi un coup de fil
on peut s'appeler
)"},
{"fr", "affirmative", R"(
oui
ouais
oui merci
oui svp
oui bien sûr
bien sûr
d'accord
dac
dacc
parfait
volontiers
avec plaisir
pas de problème
pas de souci
pas de soucis
aucun problème
pourquoi pas
allez-y
vas-y
c'est bon
ça marche
très bien
entendu
bien entendu
super
évidemment
)"},
{"fr", "decline", R"(
non
non merci
non c'est bon
pas maintenant
non pas maintenant
pas aujourd'hui
pas intéressé
pas intéressée
ça ne m'intéresse pas
je ne suis pas intéressé
bien sûr que non
surtout pas
certainement pas
jamais
une autre fois
)"},
{"fr", "opt_out", R"(
ne pas appeler
ne plus appeler
ne m'appelez pas
ne m'appelez plus
ne m'appelle pas
ne m'appelle plus
n'appelez pas
n'appelez plus
n'appelle pas
n'appelle plus
ne pas m'appeler
ne plus m'appeler
arrêtez de m'appeler
arrête de m'appeler
arrêtez d'appeler
ne me rappelez pas
ne me rappelez plus
ne me téléphonez pas
ne me téléphonez plus
je ne veux pas d'appel
je ne veux pas d'appels
je ne veux plus d'appels
je ne veux pas être appelé
je ne veux pas être appelée
je ne veux plus être appelé
pas d'appel svp
pas d'appels svp
plus d'appels
aucun appel svp
)"},
{"fr", "negation_before", R"(
ne
pas
jamais
sans
arrêtez de
arrête de
)"},
{"fr", "negation_after", R"(
pas
plus
jamais
)"},
{"fr", "neutral", R"(
ne m'écrivez pas
ne m'écris pas
pas de message
pas de messages
pas le temps
comprends pas
plus tard
plus tôt
au plus vite
au plus tôt
le plus vite
n'oubliez pas
n'oublie pas
ne vous inquiétez pas
ne t'inquiète pas
ne peux pas
ne peut pas
ne suis pas
ne sais pas
je sais pas
pas encore
pourquoi vous m'appelez
pourquoi m'appelez-vous
pourquoi tu m'appelles
)"},
{"fr", "filler", R"(
bonjour
bonsoir
salut
coucou
merci
merci beaucoup
ah
oh
euh
alors
bah
monsieur
madame
)"},

// ---------------------------------------------------------------------------------- de
// Separable verbs: "ruf mich ... an" is matched on "ruf mich"; a "nicht" after it negates it.
{"de", "call_request", R"(
ruf mich
rufen sie mich
ruft mich
rufst du mich
mich anrufen
mich bitte anrufen
mich mal anrufen
mich zurückrufen
bitte anrufen
anrufen bitte
bitte zurückrufen
rückruf bitte
bitte rückruf
bitte um rückruf
um rückruf
auf ihren rückruf
einen anruf bitte
ich möchte einen anruf
ich hätte gern einen anruf
ich hätte gerne einen anruf
können wir telefonieren
lass uns telefonieren
lassen sie uns telefonieren
)"},
{"de", "affirmative", R"(
ja
ja bitte
ja gerne
ja klar
gerne
gern
sehr gern
klar
na klar
na gut
sicher
natürlich
selbstverständlich
alles klar
in ordnung
passt
einverstanden
genau
kein problem
kein thema
warum nicht
jawohl
gut
)"},
{"de", "decline", R"(
nein
nein danke
danke nein
nee
jetzt nicht
nicht jetzt
heute nicht
lieber nicht
auf keinen fall
kein interesse
natürlich nicht
vielleicht später
später vielleicht
ein andermal
)"},
{"de", "opt_out", R"(
ruf mich nicht an
rufen sie mich nicht an
ruft mich nicht an
ruf mich nie wieder an
rufen sie mich nie wieder an
nicht anrufen
nicht mehr anrufen
nie wieder anrufen
keine anrufe bitte
bitte keine anrufe
keine anrufe mehr
ich möchte keine anrufe
ich will keine anrufe
bitte keinen anruf
keinen anruf bitte
nicht angerufen werden
auf mich anzurufen
aufhören mich anzurufen
hör auf anzurufen
hören sie auf anzurufen
lassen sie mich in ruhe
)"},
{"de", "negation_before", R"(
nicht
nie
niemals
kein
keine
keinen
nicht mehr
)"},
{"de", "negation_after", R"(
nicht
nie
niemals
keinesfalls
auf keinen fall
)"},
{"de", "neutral", R"(
schreib mir nicht
schreiben sie mir nicht
nicht schreiben
verstehe nicht
keine zeit
keine sorge
keine ursache
nicht vergessen
vergiss nicht
vergessen sie nicht
kann nicht
kann gerade nicht
kann jetzt nicht
nicht sprechen
nicht reden
nicht erreichbar
weiß nicht
nicht nur
wenn nicht
)"},
{"de", "filler", R"(
hallo
guten tag
guten morgen
guten abend
moin
servus
danke
danke schön
vielen dank
ach
ah
oh
also
na
)"},

// ---------------------------------------------------------------------------------- hi
// Hindi is written both in Devanagari and in Latin letters (Hinglish); both are listed.
{"hi", "call_request", R"(
mujhe call karo
mujhe call kar do
call karo
call kar do
call kardo
call kijiye
call kijie
call karein
call karen
call kariye
call karna
call kar dena
call kar sakte ho
call kar sakte hain
call chahiye
phone karo
phone kar do
phone kijiye
mujhe phone karo
मुझे कॉल करो
मुझे कॉल कर दो
कॉल करो
कॉल कर दो
कॉल कीजिए
कॉल कीजिये
कॉल करें
कॉल करिए
कॉल करना
कॉल कर सकते हैं
कॉल चाहिए
फोन करो
फोन कीजिए
फोन करें
मुझे फोन करो
)"},
{"hi", "affirmative", R"(
haan
han
haa
haan ji
ha ji
ji haan
ji
theek hai
thik hai
accha
acha
achha
zaroor
jaroor
bilkul
chalega
kyun nahi
koi baat nahi
हाँ
हां
हाँ जी
जी हाँ
जी हां
जी
ठीक है
ज़रूर
बिल्कुल
अच्छा
चलेगा
क्यों नहीं
कोई बात नहीं
)"},
{"hi", "decline", R"(
nahi
nahin
nhi
na
nahi ji
nahi chahiye
abhi nahi
nahi shukriya
nahi dhanyavaad
bilkul nahi
नहीं
नही
ना
नहीं जी
नहीं चाहिए
अभी नहीं
नहीं धन्यवाद
बिल्कुल नहीं
)"},
{"hi", "opt_out", R"(
call mat karo
call mat karna
call mat kijiye
call mat kariye
call mat kar
call na karein
call na karen
call na karo
call nahi karna
call nahi chahiye
call band karo
call karna band karo
phone mat karo
phone mat karna
कॉल मत करो
कॉल मत करना
कॉल मत कीजिए
कॉल न करें
कॉल ना करें
कॉल नहीं करना
कॉल नहीं चाहिए
कॉल बंद करो
फोन मत करो
फोन मत करना
)"},
{"hi", "negation_before", R"(
mat
na
ना
nahi
nahin
nhi
मत
नहीं
नही
)"},
{"hi", "negation_after", R"(
mat
nahi
nahin
nhi
मत
नहीं
नही
)"},
{"hi", "neutral", R"(
message mat karo
msg mat karo
मैसेज मत करो
samajh nahi
samay nahi
समझ नहीं
समय नहीं
koi nahi
pata nahi
nahi pata
nahi to
nahi toh
nahi kar sakta
nahi kar sakti
mat bhoolna
mat bhulna
bhoolna mat
bhulna mat
कोई नहीं
पता नहीं
नहीं तो
नहीं कर सकता
नहीं कर सकती
मत भूलना
भूलना मत
)"},
{"hi", "filler", R"(
namaste
namaskar
sir
madam
bhai
bhaiya
arre
dhanyavaad
shukriya
नमस्ते
नमस्कार
अरे
सर
भाई
धन्यवाद
शुक्रिया
)"},

// ---------------------------------------------------------------------------------- id
{"id", "call_request", R"(
telepon saya
telpon saya
telfon saya
telp saya
tlp saya
telepon aku
telpon aku
tolong telepon
tolong telpon
mohon telepon
minta ditelepon
minta ditelpon
mohon ditelepon
bisa ditelepon
saya mau ditelepon
telepon balik
telpon balik
hubungi saya lewat telepon
hubungi saya via telepon
call saya
call aku
)"},
{"id", "affirmative", R"(
ya
iya
ya boleh
boleh
boleh saja
baik
baiklah
bisa
siap
sip
tentu
tentu saja
tentu boleh
setuju
silakan
silahkan
oke
ayo
mau dong
tidak apa-apa
gak apa-apa
nggak apa-apa
ga apa-apa
gapapa
gpp
tidak masalah
gak masalah
nggak masalah
kenapa tidak
)"},
{"id", "decline", R"(
tidak
tidak usah
tidak terima kasih
tidak sekarang
tidak dulu
jangan sekarang
nanti saja
nanti aja
lain kali
gak
nggak
enggak
ga
ngga
gak usah
nggak usah
ga usah
gak dulu
belum dulu
)"},
{"id", "opt_out", R"(
jangan telepon
jangan telpon
jangan telp
jangan tlp
jangan ditelepon
jangan ditelpon
jangan menelepon
jangan call
jangan hubungi saya
berhenti menelepon
berhenti telepon
stop telepon
stop telpon
tidak mau ditelepon
gak mau ditelepon
nggak mau ditelpon
tidak usah telepon
gak usah telepon
nggak usah telpon
ga usah telpon
tidak perlu telepon
tidak perlu ditelepon
)"},
{"id", "negation_before", R"(
jangan
tidak
tak
gak
nggak
enggak
ga
ngga
bukan
tidak usah
gak usah
nggak usah
ga usah
tidak perlu
berhenti
stop
)"},
{"id", "neutral", R"(
jangan chat
jangan sms
jangan pesan
tidak mengerti
gak ngerti
nggak ngerti
tidak paham
gak paham
jangan lupa
jangan sampai lupa
tidak bisa
gak bisa
nggak bisa
ga bisa
bisa tidak
bisa gak
bisa nggak
bisa ga
bisa enggak
tidak tahu
gak tahu
nggak tahu
gak tau
ga tau
kalau tidak
kalau gak
)"},
{"id", "filler", R"(
halo
hai
pak
bu
kak
mas
mbak
bang
terima kasih
makasih
oh
wah
selamat pagi
selamat siang
selamat sore
selamat malam
permisi
)"},
};
// clang-format on

}  // namespace

const std::vector<ExtraPhrase>& BuiltinPhrases() {
  static const std::vector<ExtraPhrase>* const phrases = [] {
    auto* out = new std::vector<ExtraPhrase>();
    for (const List& list : kLists) {
      for (absl::string_view line : absl::StrSplit(list.phrases, '\n')) {
        line = absl::StripAsciiWhitespace(line);
        if (line.empty() || line.front() == '#') continue;
        out->push_back({list.language, list.kind, std::string(line)});
      }
    }
    return out;
  }();
  return *phrases;
}

}  // namespace switchboard::eligibility::rules
