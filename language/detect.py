"""Rule-based Turkish/English detection for short, casual chat messages.

Pure Python on purpose: the Rasa server (Python 3.10, its own environment) imports this
module too, through `bot/components/language_detector.py`. Statistical detectors are
unreliable on three-word messages typed without diacritics; these cues are not.
"""

import re
from typing import NamedTuple

from language.fold import fold

SUPPORTED_LANGUAGES = ("tr", "en")

# Letters only Turkish uses; a capital "I" is left out since English writes it too.
_TURKISH_LETTERS = set("çğışöüÇĞŞÖÜİ")
_RAW_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# A word written with a Turkish letter is strong evidence, but one word of it, not the whole
# message: "When was Temüjin elected khan?" is English (XQuAD EN has such names).
_LETTER_WEIGHT = 1.5

# Frequent function words and chat words, folded (no diacritics).
_TURKISH_WORDS = frozenset(
    """
    ve veya ile ama fakat icin gibi kadar daha cok az bir bu su o ne neden nasil nerede nerde
    nereden hangi kim kac zaman mi mu misin musun miyim muyum midir mudur de da ki yok var
    evet hayir tamam olur peki lutfen tesekkur tesekkurler sagol sagolun merhaba selam gunaydin
    iyi gunler aksamlar hosca kal gorusuruz ben sen biz siz onlar benim senin bizim sizin bana
    sana beni seni hala henuz hic her sey simdi bugun yarin dun hemen gelmedi geldi olmadi oldu
    istiyorum isterim yapabilirim yapamiyorum edemiyorum olmuyor calismiyor gidiyor geliyor
    nedir neler nasilsiniz musteri temsilci temsilcisi siparis siparisim kargo kargom iade
    odeme fatura faturam internet internetim modem sifre sifremi hesap hesabim kart kartim
    taksit kupon magaza sube abonelik tarife paket hizmet sorun problem yardim destek acil
    degil lazim gerek gerekiyor nasil yani abi abla hocam bi bisey birsey yapmam yapayim
    kimdir kimdi neydi neyi nerededir hangisi hangisidir kactir nelerdir
    mrb slm meraba mrhb selamlar sa as hoscakal hosca bay eyvallah eyv saol sagolasin varol
    evt tabi tabii aynen kesinlikle elbette uygun olmaz asla yoo istemem hadi halloldu yaradi
    yaramadi cozuldu cozulmedi anlamadim anladim bilmiyorum kime neden niye hani sey tamamdir
    """.split()
)
_ENGLISH_WORDS = frozenset(
    """
    the a an and or but of to in on at for with from by is are was were be been am do does did
    not no yes yeah yep nope ok okay please thanks thank you your my me i i'm im it it's its this
    that these those what where when why how which who can could would should will shall may might
    have has had get got want need there here about any some all just still yet hi hello hey bye
    good morning evening afternoon order package delivery refund return payment bill invoice
    password account card internet wifi router modem speed slow working doesn't dont don't
    can't cant won't isn't wasn't haven't help human agent person talk someone store hours
    hiya howdy greetings sup goodbye see take care cya later farewell gotta byee thx ty cheers
    appreciated tysm sure correct absolutely definitely right indeed yup exactly alright ahead
    nah never negative thanks great awesome perfect wrong useless helpful helped solved
    """.split()
)
# Turkish inflection endings that English words practically never have.
_TURKISH_SUFFIXES = re.compile(
    r"(yor|yorum|iyor|uyor|miyor|muyor|mıyor|dim|dum|tim|tum|medi|madi|mis|mus|misin|"
    r"sin|siniz|lar|ler|lari|leri|larim|lerim|ini|unu|imi|umu|imiz|iniz|dan|den|tan|ten|"
    r"nda|nde|ndan|nden|sunuz|abilir|ebilir|amiyor|emiyor|acak|ecek|mak|mek)$"
)


class Detection(NamedTuple):
    """A detected language, or None when the text gives no usable cue."""

    language: str | None
    confidence: float


def detect_language(text: str) -> Detection:
    """Guess whether `text` is Turkish or English; confidence is in [0, 1]."""
    raw_words = _RAW_WORD.findall(text)
    if not raw_words:
        return Detection(None, 0.0)
    turkish = 0.0
    english = 0.0
    for raw in raw_words:
        word = fold(raw)
        if any(ch in _TURKISH_LETTERS for ch in raw):
            turkish += _LETTER_WEIGHT  # and no English cue: "hı" is not "hi"
            continue
        if word in _TURKISH_WORDS:
            turkish += 1.0
        elif len(word) > 4 and _TURKISH_SUFFIXES.search(word):
            turkish += 0.6
        english += 1.0 if word in _ENGLISH_WORDS else 0.0
    if turkish == english:
        return Detection(None, 0.0)
    language = "tr" if turkish > english else "en"
    confidence = abs(turkish - english) / (turkish + english)
    return Detection(language, round(confidence, 3))
