"""The paper's hand-written prompts, as data (Balogh 2026, arXiv 2604.04756; paper-claims Appendix A).

Reproduced verbatim from ``reference/paper-claims.md`` Appendix A.1 (the 160 knowledge-extraction cloze
prompts of the paper's App. B, with the original result file's base / static / context ranks at 3,072
neurons, kept for comparison), A.4 (the 20 integrated-gradients / knockout prompts and the 5
country-capital transplant pairs of the paper's App. C) and A.5 (the progressive-prediction demonstration
texts). They are the paper's stimuli, cited as :cite:`balogh2026darkness`; nothing here is computed.

Conventions (paper-claims §6 E6, E8):
- :class:`FactPrompt` targets carry their leading space (``" Paris"``); the target id is the first BPE
  token of ``target`` (``" Bras"`` for Brasília).
- :class:`ExtractionPrompt` targets have no leading space; the target id is the first BPE token of
  ``" " + target``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FactPrompt:
    """An integrated-gradients / knockout prompt: ``prompt`` and ``target`` with its leading space."""

    prompt: str
    target: str

    @property
    def target_text(self) -> str:
        """The text whose first BPE token is the target id."""
        return self.target


@dataclass(frozen=True)
class TransplantPair:
    """A source fact whose top-20 neurons are transplanted into a destination prompt."""

    source: FactPrompt
    destination: FactPrompt


@dataclass(frozen=True)
class ExtractionPrompt:
    """A knowledge-extraction cloze prompt with the paper's data ranks (at 3,072 neurons)."""

    prompt: str
    target: str
    category: str
    paper_base_rank: int
    paper_static_rank: int
    paper_context_rank: int

    @property
    def target_text(self) -> str:
        """The text whose first BPE token is the target id (``" " + target``)."""
        return " " + self.target


#: Appendix A.4: the 20 (prompt, target) pairs of the integrated-gradients and knockout experiments.
FACT_PROMPTS: tuple[FactPrompt, ...] = (
    FactPrompt('The capital of France is', ' Paris'),
    FactPrompt('The capital of Germany is', ' Berlin'),
    FactPrompt('The capital of Italy is', ' Rome'),
    FactPrompt('The capital of Japan is', ' Tokyo'),
    FactPrompt('The capital of Spain is', ' Madrid'),
    FactPrompt('The capital of China is', ' Beijing'),
    FactPrompt('The capital of Russia is', ' Moscow'),
    FactPrompt('The capital of Brazil is', ' Bras'),
    FactPrompt('The capital of Australia is', ' Canberra'),
    FactPrompt('The capital of Canada is', ' Ottawa'),
    FactPrompt('The largest planet in the solar system is', ' Jupiter'),
    FactPrompt('Water freezes at', ' 0'),
    FactPrompt('The speed of light is approximately', ' 300'),
    FactPrompt('In 1969, humans first landed on the', ' Moon'),
    FactPrompt('The chemical symbol for gold is', ' Au'),
    FactPrompt('Albert Einstein developed the theory of', ' relat'),
    FactPrompt('The Great Wall is located in', ' China'),
    FactPrompt('The currency of Japan is the', ' yen'),
    FactPrompt('Shakespeare wrote', ' Hamlet'),
    FactPrompt('The Mona Lisa was painted by', ' Leonardo'),
)

_BY_PROMPT = {p.prompt: p for p in FACT_PROMPTS}

#: Appendix A.4: the 5 country-capital transplant pairs (source -> destination).
TRANSPLANT_PAIRS: tuple[TransplantPair, ...] = tuple(
    TransplantPair(_BY_PROMPT[f"The capital of {s} is"], _BY_PROMPT[f"The capital of {d} is"])
    for s, d in (("France", "Germany"), ("Japan", "Italy"), ("China", "Spain"), ("Russia", "Canada"),
                 ("Australia", "Brazil"))
)

_E = ExtractionPrompt

#: Appendix A.1: the 160 knowledge-extraction prompts, in the original order, 15 categories.
EXTRACTION_PROMPTS: tuple[ExtractionPrompt, ...] = (
    _E('The capital of France is', 'Paris', 'geo_capital', 5, 3429, 6092),
    _E('The capital of Germany is', 'Berlin', 'geo_capital', 2, 5206, 14960),
    _E('The capital of Japan is', 'Tokyo', 'geo_capital', 2, 7585, 13522),
    _E('The capital of Italy is', 'Rome', 'geo_capital', 1, 6149, 905),
    _E('The capital of Spain is', 'Madrid', 'geo_capital', 1, 13964, 3363),
    _E('The capital of Russia is', 'Moscow', 'geo_capital', 7, 5926, 33592),
    _E('The capital of China is', 'Beijing', 'geo_capital', 10, 9629, 17868),
    _E('The capital of Australia is', 'Canberra', 'geo_capital', 17, 30384, 24653),
    _E('The capital of Canada is', 'Ottawa', 'geo_capital', 23, 11507, 24386),
    _E('The capital of Brazil is', 'Bras', 'geo_capital', 14, 17248, 20209),
    _E('The capital of Egypt is', 'Cairo', 'geo_capital', 2, 16870, 11307),
    _E('The capital of India is', 'New', 'geo_capital', 46, 160, 955),
    _E('The capital of Mexico is', 'Mexico', 'geo_capital', 11, 4558, 16031),
    _E('The capital of Poland is', 'Warsaw', 'geo_capital', 1, 25639, 916),
    _E('The capital of Sweden is', 'Stockholm', 'geo_capital', 13, 18057, 19578),
    _E('The Eiffel Tower is located in', 'Paris', 'geo_location', 11, 3429, 2122),
    _E('The Great Wall of China is in', 'China', 'geo_location', 9, 1884, 2481),
    _E('The Colosseum is located in', 'Rome', 'geo_location', 6, 6149, 203),
    _E('Mount Everest is located in', 'Nepal', 'geo_location', 3, 24438, 2151),
    _E('The Amazon River flows through', 'Brazil', 'geo_location', 27, 6744, 842),
    _E('The Sahara Desert is in', 'Africa', 'geo_location', 87, 4589, 4461),
    _E('The Panama Canal connects the Atlantic and', 'Pacific', 'geo_location', 1, 3733, 6584),
    _E('The Nile River flows through', 'Egypt', 'geo_location', 6, 8224, 4373),
    _E('The Taj Mahal is located in', 'India', 'geo_location', 9, 2125, 3749),
    _E('Big Ben is located in', 'London', 'geo_location', 74, 1267, 558),
    _E('The chemical symbol for gold is', 'Au', 'sci_chem', 1066, 12729, 488),
    _E('The chemical symbol for silver is', 'Ag', 'sci_chem', 426, 1446, 4173),
    _E('The chemical symbol for iron is', 'Fe', 'sci_chem', 116, 3254, 642),
    _E('Water is composed of hydrogen and', 'oxygen', 'sci_chem', 1, 12885, 5627),
    _E('The atomic number of carbon is', '6', 'sci_chem', 16, 166, 200),
    _E('The chemical formula for water is H', '2', 'sci_chem', 1, 58, 1),
    _E('The chemical symbol for sodium is', 'Na', 'sci_chem', 7, 3643, 1133),
    _E('Diamond is a form of', 'carbon', 'sci_chem', 25, 5479, 2681),
    _E('The pH of pure water is', '7', 'sci_chem', 8, 187, 72),
    _E('Table salt is sodium', 'chlor', 'sci_chem', 37, 20835, 3486),
    _E('The speed of light is approximately 300,000 km per', 'second', 'sci_phys', 1, 244, 1),
    _E("Einstein's famous equation is E equals mc", 'squared', 'sci_phys', 36, 18079, 8651),
    _E('Absolute zero is approximately minus 273 degrees', 'C', 'sci_phys', 5, 68, 1),
    _E('The force of gravity on Earth is approximately 9.8 meters per second', 'squared', 'sci_phys', 25, 18079, 55),
    _E('Light travels fastest in a', 'vacuum', 'sci_phys', 1, 11738, 924),
    _E('The boiling point of water is 100 degrees', 'C', 'sci_phys', 3, 68, 1),
    _E('The freezing point of water is zero degrees', 'C', 'sci_phys', 5, 68, 1),
    _E('Sound travels faster in water than in', 'air', 'sci_phys', 1, 861, 131),
    _E('The three states of matter are solid, liquid, and', 'gas', 'sci_phys', 28, 1919, 839),
    _E("An object at rest stays at rest according to Newton's first law of", 'motion', 'sci_phys', 1, 4847, 3184),
    _E('DNA stands for deoxyribonucleic', 'acid', 'sci_bio', 1, 6454, 1995),
    _E('The powerhouse of the cell is the', 'mit', 'sci_bio', 4382, 7561, 15180),
    _E('Humans have 23 pairs of', 'chrom', 'sci_bio', 468, 17496, 790),
    _E('Photosynthesis converts carbon dioxide and water into glucose and', 'oxygen', 'sci_bio', 11, 12885, 16526),
    _E('The largest organ in the human body is the', 'skin', 'sci_bio', 78, 2877, 20514),
    _E('Red blood cells carry', 'oxygen', 'sci_bio', 4, 12885, 1529),
    _E('The human heart has four', 'ch', 'sci_bio', 130, 231, 2001),
    _E('Insulin is produced by the', 'pan', 'sci_bio', 2411, 1740, 4082),
    _E('The basic unit of life is the', 'cell', 'sci_bio', 108, 2853, 376),
    _E('Plants get their green color from', 'chlor', 'sci_bio', 458, 20835, 10372),
    _E('The largest planet in our solar system is', 'Jupiter', 'sci_astro', 5, 13256, 13243),
    _E('The closest star to Earth is the', 'Sun', 'sci_astro', 1, 1317, 1965),
    _E('The Moon orbits the', 'Earth', 'sci_astro', 3, 1559, 13366),
    _E('Mars is often called the', 'Red', 'sci_astro', 30, 462, 103),
    _E('Saturn is known for its', 'rings', 'sci_astro', 262, 8761, 48),
    _E('A year on Earth is approximately 365', 'days', 'sci_astro', 1, 1134, 2951),
    _E('The Milky Way is a', 'galaxy', 'sci_astro', 1, 17808, 3206),
    _E('Pluto was reclassified as a dwarf', 'planet', 'sci_astro', 1, 6343, 184),
    _E('The Sun is primarily composed of', 'hydrogen', 'sci_astro', 11, 21926, 132),
    _E('Neil Armstrong was the first person to walk on the', 'Moon', 'sci_astro', 2, 4625, 8),
    _E('Leonardo da Vinci painted the Mona', 'Lisa', 'hist_people', 1, 8002, 20),
    _E('William Shakespeare wrote Romeo and', 'Juliet', 'hist_people', 1, 30039, 12418),
    _E('Albert Einstein developed the theory of', 'relat', 'hist_people', 58, 31114, 4376),
    _E('Isaac Newton discovered the law of', 'grav', 'hist_people', 1, 10765, 475),
    _E('Christopher Columbus sailed to America in', '14', 'hist_people', 6, 428, 7),
    _E('Martin Luther King Jr. gave the I Have a', 'Dream', 'hist_people', 1, 3908, 208),
    _E('Charles Darwin is known for the theory of', 'evolution', 'hist_people', 1, 7275, 1812),
    _E('Galileo Galilei was a famous Italian', 'astron', 'hist_people', 1601, 39576, 467),
    _E('Alexander Graham Bell invented the', 'tele', 'hist_people', 337, 3266, 7256),
    _E('Thomas Edison invented the light', 'b', 'hist_people', 568, 127, 14436),
    _E('Marie Curie discovered the element', 'rad', 'hist_people', 2324, 5116, 8714),
    _E('Beethoven was a famous German', 'comp', 'hist_people', 488, 1436, 318),
    _E('Picasso was a famous Spanish', 'paint', 'hist_people', 131, 6826, 1247),
    _E('Napoleon Bonaparte was the Emperor of', 'France', 'hist_people', 1, 3188, 16744),
    _E('Cleopatra was the Queen of', 'Egypt', 'hist_people', 2, 8224, 11606),
    _E('World War II ended in', '1945', 'hist_events', 2, 17577, 2351),
    _E('The Berlin Wall fell in', '1989', 'hist_events', 1, 7589, 7),
    _E('The French Revolution began in', '17', 'hist_events', 1, 463, 6),
    _E('The Declaration of Independence was signed in', '17', 'hist_events', 1, 463, 51),
    _E('World War I began in', '19', 'hist_events', 84, 540, 32),
    _E('The first Moon landing was in', '19', 'hist_events', 135, 540, 19),
    _E('The Titanic sank in', '19', 'hist_events', 26, 540, 14),
    _E('The American Civil War ended in', '18', 'hist_events', 3, 303, 41),
    _E('The Great Fire of London occurred in', '16', 'hist_events', 4, 372, 2),
    _E('The Roman Empire fell in', '4', 'hist_events', 22, 135, 7),
    _E('To be or not to be, that is the', 'question', 'lang_lit', 1, 1391, 80),
    _E('The author of Harry Potter is J.K.', 'Row', 'lang_lit', 8, 5685, 770),
    _E('Romeo and Juliet is a play by William', 'Shakespeare', 'lang_lit', 1, 14680, 14324),
    _E('The Odyssey was written by', 'Homer', 'lang_lit', 162, 14696, 4246),
    _E('In the beginning God created the heaven and the', 'earth', 'lang_lit', 1, 3730, 5986),
    _E('A Tale of Two Cities begins with It was the best of', 'times', 'lang_lit', 1, 1245, 1020),
    _E('Call me Ishmael is the opening of', 'Mob', 'lang_lit', 4254, 10910, 13127),
    _E('The Lord of the Rings was written by J.R.R.', 'Tol', 'lang_lit', 2, 11440, 3583),
    _E('1984 was written by George', 'Or', 'lang_lit', 685, 578, 2898),
    _E('Pride and Prejudice was written by Jane', 'Aust', 'lang_lit', 1, 8929, 1596),
    _E('The World Wide Web was invented by Tim Berners-', 'Lee', 'tech', 7, 1727, 83),
    _E('Apple was founded by Steve', 'Jobs', 'tech', 1, 20651, 1186),
    _E('Microsoft was founded by Bill', 'Gates', 'tech', 1, 12938, 1373),
    _E('The first programmable computer was built by', 'Charles', 'tech', 76, 2407, 2366),
    _E('Google was founded by Larry Page and Sergey', 'Br', 'tech', 1, 960, 1),
    _E('The programming language Python was created by Guido van', 'Ross', 'tech', 1, 2965, 1),
    _E('Linux was created by Linus', 'Tor', 'tech', 1, 2551, 1),
    _E('The iPhone was first released in', '200', 'tech', 504, 1011, 342),
    _E('Amazon was founded by Jeff', 'Bez', 'tech', 51, 536, 2163),
    _E('Facebook was founded by Mark', 'Zuck', 'tech', 14, 258, 1905),
    _E('The official language of Brazil is', 'Portug', 'lang_country', 46, 44419, 25937),
    _E('The official language of Japan is', 'Japanese', 'lang_country', 4, 1951, 35839),
    _E('The official language of France is', 'French', 'lang_country', 1, 1316, 39944),
    _E('The official language of Germany is', 'German', 'lang_country', 4, 1402, 45848),
    _E('The official language of China is', 'Mand', 'lang_country', 7349, 5701, 25027),
    _E('People in Italy speak', 'Italian', 'lang_country', 2, 3448, 27124),
    _E('People in Russia speak', 'Russian', 'lang_country', 1, 1332, 14233),
    _E('The currency of Japan is the', 'yen', 'lang_country', 1, 28445, 31325),
    _E('The currency of the United Kingdom is the', 'pound', 'lang_country', 1, 6756, 5),
    _E('The currency of the United States is the', 'dollar', 'lang_country', 1, 6107, 963),
    _E('The largest animal on Earth is the blue', 'whale', 'animals', 1, 22915, 26557),
    _E('A group of wolves is called a', 'pack', 'animals', 4, 2868, 1621),
    _E('Cats are known for their ability to', 'pur', 'animals', 1469, 1744, 1366),
    _E("Dogs are often called man's best", 'friend', 'animals', 1, 2370, 13),
    _E('The fastest land animal is the', 'che', 'animals', 79, 2566, 1611),
    _E('Penguins live in the', 'Ant', 'animals', 2493, 1723, 6237),
    _E('Dolphins are known for their', 'intelligence', 'animals', 173, 4369, 181),
    _E('A baby cat is called a', 'kit', 'animals', 4969, 5621, 13109),
    _E('Bees produce', 'honey', 'animals', 89, 6566, 3),
    _E('Owls are primarily', 'noct', 'animals', 1060, 61, 2072),
    _E('Sushi is a traditional food from', 'Japan', 'food', 2, 2731, 48186),
    _E('Pizza originated in', 'Italy', 'food', 1, 7018, 2067),
    _E('Champagne comes from a region in', 'France', 'food', 3, 3188, 9006),
    _E('Chocolate is made from', 'coc', 'food', 167, 14189, 7194),
    _E('Bread is made from', 'flour', 'food', 10, 9092, 10279),
    _E('Tea is the most popular drink in', 'China', 'food', 5, 1884, 346),
    _E('Wine is made from', 'gr', 'food', 1452, 753, 2586),
    _E('Pasta is a staple food in', 'Italy', 'food', 3, 7018, 2502),
    _E('Whiskey is made from', 'grain', 'food', 188, 4943, 26918),
    _E('Coffee beans are actually', 'seeds', 'food', 420, 10686, 13924),
    _E("The ratio of a circle's circumference to its diameter is called", 'pi', 'math', 101, 13016, 494),
    _E('The square root of 144 is', '12', 'math', 43, 203, 627),
    _E('A triangle has three', 'sides', 'math', 1, 3561, 9),
    _E('The sum of angles in a triangle is 180', 'degrees', 'math', 1, 8703, 318),
    _E('Pi is approximately equal to 3.', '14', 'math', 1070, 428, 562),
    _E('A hexagon has six', 'sides', 'math', 1, 3561, 86),
    _E('The Pythagorean theorem relates the sides of a right', 'triangle', 'math', 1, 13658, 1209),
    _E('Fibonacci numbers start with 0, 1, 1, 2, 3, 5,', '8', 'math', 3, 192, 22387),
    _E('The derivative of x squared is 2', 'x', 'math', 4, 358, 3052),
    _E("Euler's number e is approximately 2.", '7', 'math', 280, 187, 1140),
    _E('The Beatles were from', 'Liverpool', 'music', 6, 7895, 339),
    _E('Mozart was born in', 'Aust', 'music', 1230, 8929, 1575),
    _E('A piano has 88', 'keys', 'music', 1, 9495, 681),
    _E('The four strings of a violin are tuned to G, D, A, and', 'E', 'music', 2, 118, 245),
    _E("Beethoven's Fifth Symphony begins with four", 'notes', 'music', 2, 3159, 2),
    _E('Elvis Presley was known as the King of Rock and', 'Roll', 'music', 1, 6391, 3115),
    _E('Bob Marley was from', 'Jamaica', 'music', 89, 21501, 2071),
    _E('A standard guitar has six', 'strings', 'music', 1, 14687, 427),
    _E('The Sound of Music is set in', 'Aust', 'music', 3583, 8929, 12702),
    _E('Freddie Mercury was the lead singer of', 'Queen', 'music', 51, 2959, 38),
)

#: The 15 categories of :data:`EXTRACTION_PROMPTS`, in order of first appearance.
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(p.category for p in EXTRACTION_PROMPTS))


@dataclass(frozen=True)
class Demonstration:
    """A progressive-prediction text (``\\n`` is a real newline) and the target the paper tracks, if any."""

    text: str
    target: str | None = None
    source: str = "more_examples"


#: Appendix A.5: the demonstration texts of the progressive-prediction walk-through.
DEMONSTRATIONS: tuple[Demonstration, ...] = (
    Demonstration("The capital of France is", " Paris", "progressive_prediction"),
    Demonstration("She walked into the room and", None, "progressive_prediction"),
    Demonstration("The quick brown fox jumps over the", None, "progressive_prediction"),
    Demonstration("In 1969, humans first landed on the", " moon", "progressive_prediction"),
    Demonstration("\n\nThe following year, the team", None, "progressive_prediction"),
    Demonstration("The president of the United States is"),
    Demonstration("Water boils at 100 degrees"),
    Demonstration("The largest planet in the solar system is"),
    Demonstration("Einstein was born in"),
    Demonstration("The speed of light is approximately"),
    Demonstration("The word 'un"),
    Demonstration("She studied at the Massachusetts Institute of"),
    Demonstration("The pharmaceutical company Pf", "izer"),
    Demonstration("In the city of Const"),
    Demonstration("\n\nIn the year"),
    Demonstration("\n\nThe first"),
    Demonstration("end of the story.\n\nThe"),
    Demonstration("He picked up the phone and"),
    Demonstration("The cat sat on the"),
    Demonstration("Once upon a"),
    Demonstration("The bank of the"),
    Demonstration("She saw her duck"),
    Demonstration("The old man the"),
    Demonstration("I never said she stole my"),
    Demonstration("It was the worst day of her"),
    Demonstration("The beautiful sunset painted the sky in shades of"),
    Demonstration("1, 2, 3, 4,"),
    Demonstration("Monday, Tuesday, Wednesday,"),
)


@dataclass(frozen=True)
class ControlPrompt:
    """One of the 12 context-dependent knowledge-control prompts (paper-claims Appendix A.3, E7).

    ``target`` has no leading space (the id is the first token of ``" " + target``); ``json_top1`` and
    ``json_prob`` are the model's top-1 and P(target) in the original ``knowledge_test.json`` [DATA].
    """

    prompt: str
    target: str
    json_top1: str
    json_prob: float


#: Appendix A.3, verbatim, in the JSON's order.
CONTROL_PROMPTS: tuple[ControlPrompt, ...] = (
    ControlPrompt("In 1969, Neil Armstrong landed on the", "moon", " moon", 0.6727),
    ControlPrompt("Water freezes at zero degrees", "C", " C", 0.163),
    ControlPrompt("The playwright was William", "Shakespeare", " Shakespeare", 0.3349),
    ControlPrompt("Einstein's theory of", "relativity", " relativity", 0.4583),
    ControlPrompt("The speed of light is 300,000 km per", "second", " second", 0.6855),
    ControlPrompt("The French Revolution began in", "17", " 17", 0.4669),
    ControlPrompt("The chemical symbol for gold is", "Au", " the", 0.0001),
    ControlPrompt("The largest planet in our solar system is", "Jupiter", " about", 0.027),
    ControlPrompt("The capital of France is", "Paris", " the", 0.0322),
    ControlPrompt("DNA stands for deoxyribonucleic", "acid", " acid", 0.9856),
    ControlPrompt("The Mona Lisa was painted by Leonardo da", "Vinci", " Vin", 0.9992),
    ControlPrompt("The Great Wall of", "China", " China", 0.9277),
)
