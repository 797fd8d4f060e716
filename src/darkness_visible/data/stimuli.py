"""Garden-path stimuli: the paper's 15 NP/Z pairs, verbatim, and 16 reduced-relative pairs written for this book.

**The paper's pairs** (``PAPER_PAIRS``; Balogh 2026, appendix E; paper-claims Appendix A.2). Each is an
NP/Z ambiguity: in "After the dog struggled the vet took off the muzzle." the intransitive verb leaves "the
vet" to start the main clause, which readers first attach as the object of the subordinate verb (the human
garden path); the transitive control "After the dog scratched the vet ..." makes that object reading
correct. Pairs vgp1-5 are adapted from Van Gompel & Pickering (2001); add1-10 are the author's. For every
pair we keep the ``disambig_word`` the paper lists (in 10 of 15 pairs a preposition or participle right
after the noun phrase, which is still compatible with the object reading) *and* the main-clause verb,
where the ambiguity really resolves. ``anchor_garden`` / ``anchor_control`` is the subordinate verb: the
disambiguating word is searched *after* it, as a whole word, by character offsets.

**The book's reduced-relative pairs** (``REDUCED_RELATIVE_PAIRS``), the second family the paper names
but does not test (Bever 1970: "The horse raced past the barn fell."). The ambiguous verb ("raced") is
read first as the main-clause past tense; the main verb ("fell") forces the reduced-relative reading.

*Control design chosen: an unambiguous participle* ("The horse ridden past the barn fell."), not a full
relative clause ("The horse that was raced past the barn fell."). Reasons: (1) it keeps the sentences
word-for-word parallel, so the disambiguating main verb sits at the same word position in both conditions
and any difference in absolute token position comes only from BPE segmentation of one word (the paper's own
confound, analysed the same way); a "that was" control would shift the main verb by two or more tokens in
every pair and confound surprisal with position and with the extra relative-clause material; (2) it
matches the paper's own design, which also swaps a single verb (intransitive vs transitive); (3) an
"-en"/irregular participle (ridden, given, thrown, taken, driven, shown, ...) cannot be a past tense, so
the control has no main-verb reading to garden-path on. The price is a lexical difference (frequency and
meaning of the participle), which the paired design does not remove; the chapter says so.
For these pairs the listed word and the main verb coincide (``paper_word == main_verb``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["npz", "reduced_relative"]


@dataclass(frozen=True)
class GardenPathPair:
    """One minimal pair.

    ``garden``: the sentence humans garden-path on (the paper's "intransitive" for NP/Z, the ambiguous
    "-ed" verb for reduced relatives); ``control``: the unambiguous sentence (the paper's "transitive").
    ``anchor_garden`` / ``anchor_control``: the verb after which the disambiguating word is searched.
    ``paper_word``: the disambiguation word the paper lists; ``main_verb``: the main-clause verb.
    ``noun_phrase``: the ambiguous NP region (NP/Z) or the subject NP (reduced relatives).
    """

    id: str
    family: Family
    garden: str
    control: str
    anchor_garden: str
    anchor_control: str
    paper_word: str
    main_verb: str
    noun_phrase: str
    source: str

    def sentence(self, condition: str) -> str:
        """The sentence of a condition: ``"garden"`` or ``"control"``."""
        return {"garden": self.garden, "control": self.control}[condition]

    def anchor(self, condition: str) -> str:
        """The verb after which the disambiguating word is searched, in that condition."""
        return {"garden": self.anchor_garden, "control": self.anchor_control}[condition]

    def word(self, definition: str) -> str:
        """The disambiguating word under a definition: ``"paper"`` (listed word) or ``"main_verb"``."""
        return {"paper": self.paper_word, "main_verb": self.main_verb}[definition]


_VG = "Van Gompel & Pickering (2001), adapted by Balogh (2026)"
_AB = "Balogh (2026), appendix E"


def _npz(id_: str, garden: str, control: str, anchors: tuple[str, str], word: str, verb: str, np_: str,
         source: str) -> GardenPathPair:
    return GardenPathPair(id_, "npz", garden, control, anchors[0], anchors[1], word, verb, np_, source)


#: The paper's 15 NP/Z pairs, verbatim (paper-claims Appendix A.2), with the main-clause verb added.
PAPER_PAIRS: tuple[GardenPathPair, ...] = (
    _npz("vgp1", "After the dog struggled the vet took off the muzzle.",
         "After the dog scratched the vet took off the muzzle.", ("struggled", "scratched"),
         "took", "took", "the vet", _VG),
    _npz("vgp2", "After the child sneezed the doctor prescribed a course of medicine.",
         "After the child visited the doctor prescribed a course of medicine.", ("sneezed", "visited"),
         "prescribed", "prescribed", "the doctor", _VG),
    _npz("vgp3", "While the man dozed the woman next to him read her book quietly.",
         "While the man watched the woman next to him read her book quietly.", ("dozed", "watched"),
         "next", "read", "the woman", _VG),
    _npz("vgp4", "After the prisoner escaped the guard searched the entire building.",
         "After the prisoner attacked the guard searched the entire building.", ("escaped", "attacked"),
         "searched", "searched", "the guard", _VG),
    _npz("vgp5", "While the student slept the professor standing nearby noticed the textbook.",
         "While the student ignored the professor standing nearby noticed the textbook.", ("slept", "ignored"),
         "standing", "noticed", "the professor", _VG),
    _npz("add1", "After the baby cried the mother in the next room came running.",
         "After the baby woke the mother in the next room came running.", ("cried", "woke"),
         "in", "came", "the mother", _AB),
    _npz("add2", "While the cat purred the owner sitting nearby stroked its fur.",
         "While the cat bit the owner sitting nearby stroked its fur.", ("purred", "bit"),
         "sitting", "stroked", "the owner", _AB),
    _npz("add3", "After the patient fainted the nurse on duty called for assistance.",
         "After the patient alarmed the nurse on duty called for assistance.", ("fainted", "alarmed"),
         "on", "called", "the nurse", _AB),
    _npz("add4", "While the horse galloped the rider on its back held the reins tightly.",
         "While the horse threw the rider on its back held the reins tightly.", ("galloped", "threw"),
         "on", "held", "the rider", _AB),
    _npz("add5", "After the volcano erupted the residents of the town evacuated immediately.",
         "After the volcano destroyed the residents of the town evacuated immediately.", ("erupted", "destroyed"),
         "of", "evacuated", "the residents", _AB),
    _npz("add6", "While the engine sputtered the mechanic under the hood checked the spark plugs.",
         "While the engine startled the mechanic under the hood checked the spark plugs.",
         ("sputtered", "startled"), "under", "checked", "the mechanic", _AB),
    _npz("add7", "After the witness lied the lawyer at the front of the courtroom objected.",
         "After the witness accused the lawyer at the front of the courtroom objected.", ("lied", "accused"),
         "at", "objected", "the lawyer", _AB),
    _npz("add8", "While the singer performed the audience in the theater applauded loudly.",
         "While the singer impressed the audience in the theater applauded loudly.", ("performed", "impressed"),
         "in", "applauded", "the audience", _AB),
    _npz("add9", "After the soldier marched the commander at the base issued new orders.",
         "After the soldier disobeyed the commander at the base issued new orders.", ("marched", "disobeyed"),
         "at", "issued", "the commander", _AB),
    _npz("add10", "While the fire blazed the firefighter near the entrance rescued the child.",
         "While the fire trapped the firefighter near the entrance rescued the child.", ("blazed", "trapped"),
         "near", "rescued", "the firefighter", _AB),
)

_BOOK = "written for this book (reduced relative, unambiguous-participle control)"


def _rr(id_: str, subject: str, ambiguous: str, participle: str, rest: str, verb: str, tail: str) -> GardenPathPair:
    """``"<subject> <ambiguous|participle> <rest> <verb><tail>"``; the main verb disambiguates."""
    garden = f"{subject} {ambiguous} {rest} {verb}{tail}"
    control = f"{subject} {participle} {rest} {verb}{tail}"
    return GardenPathPair(id_, "reduced_relative", garden, control, ambiguous, participle, verb, verb,
                          subject, _BOOK)


#: 16 reduced-relative pairs written for the book: ambiguous "-ed" verb vs an unambiguous participle.
REDUCED_RELATIVE_PAIRS: tuple[GardenPathPair, ...] = (
    _rr("rr1", "The horse", "raced", "ridden", "past the barn", "fell", "."),
    _rr("rr2", "The boat", "floated", "taken", "down the river", "sank", "."),
    _rr("rr3", "The man", "pushed", "thrown", "through the door", "fainted", "."),
    _rr("rr4", "The dog", "walked", "driven", "to the park", "barked", " loudly."),
    _rr("rr5", "The girl", "dragged", "thrown", "into the pool", "screamed", "."),
    _rr("rr6", "The soldier", "marched", "driven", "across the field", "collapsed", "."),
    _rr("rr7", "The prisoner", "led", "taken", "to the cell", "wept", " quietly."),
    _rr("rr8", "The child", "carried", "taken", "up the stairs", "giggled", "."),
    _rr("rr9", "The actress", "sent", "given", "the flowers", "smiled", " warmly."),
    _rr("rr10", "The woman", "handed", "given", "the letter", "cried", "."),
    _rr("rr11", "The patient", "moved", "taken", "to the ward", "recovered", " slowly."),
    _rr("rr12", "The tourist", "guided", "shown", "through the museum", "complained", "."),
    _rr("rr13", "The thief", "chased", "driven", "down the alley", "surrendered", "."),
    _rr("rr14", "The boy", "offered", "given", "the candy", "laughed", "."),
    _rr("rr15", "The sailor", "dropped", "thrown", "into the sea", "drowned", "."),
    _rr("rr16", "The player", "kicked", "thrown", "off the team", "sulked", " for weeks."),
)

#: Both families, keyed by name.
FAMILIES: dict[str, tuple[GardenPathPair, ...]] = {"npz": PAPER_PAIRS, "reduced_relative": REDUCED_RELATIVE_PAIRS}
