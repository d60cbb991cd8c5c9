//! Company vocabulary: legal forms per country with the spellings found in the wild, and
//! industry words to build names from (`Müller Maschinenbau GmbH`, `Apex Logistics Ltd`).

/// A legal form: the canonical spelling, then variants systems use.
pub type LegalForm = &'static [&'static str];

pub fn legal_forms(country: &str) -> &'static [LegalForm] {
    match country {
        "DE" => &[
            &[
                "GmbH",
                "G.m.b.H.",
                "GMBH",
                "Gmbh",
                "Gesellschaft mit beschränkter Haftung",
            ],
            &["AG", "A.G.", "Aktiengesellschaft"],
            &[
                "GmbH & Co. KG",
                "GmbH & Co KG",
                "GmbH u. Co. KG",
                "GmbH&Co.KG",
            ],
            &["KG", "K.G.", "Kommanditgesellschaft"],
            &["e.K.", "e. K.", "eK", "eingetragener Kaufmann"],
            &["UG (haftungsbeschränkt)", "UG", "UG (haftungsbeschr.)"],
        ],
        "GB" => &[
            &["Ltd", "Limited", "Ltd.", "LTD"],
            &["PLC", "plc", "Public Limited Company", "P.L.C."],
            &["LLP", "L.L.P."],
        ],
        "US" => &[
            &["Inc.", "Inc", "Incorporated", "INC"],
            &["LLC", "L.L.C.", "Limited Liability Company", "Llc"],
            &["Corp.", "Corporation", "Corp", "CORP"],
            &["Co.", "Company", "Co"],
        ],
        "FR" => &[
            &["SARL", "S.A.R.L.", "Sarl", "S.à r.l."],
            &["SAS", "S.A.S.", "Société par actions simplifiée"],
            &["SA", "S.A.", "Société Anonyme"],
            &["EURL", "E.U.R.L."],
        ],
        "ES" => &[
            &["S.L.", "SL", "S.L.U.", "Sociedad Limitada", "S. L."],
            &["S.A.", "SA", "Sociedad Anónima", "S. A."],
        ],
        "IT" => &[
            &["S.r.l.", "SRL", "Srl", "s.r.l.", "S.R.L."],
            &["S.p.A.", "SpA", "SPA", "S.P.A."],
            &["S.n.c.", "Snc", "SNC"],
        ],
        "PL" => &[
            &[
                "sp. z o.o.",
                "Sp. z o.o.",
                "sp. z o. o.",
                "Spółka z ograniczoną odpowiedzialnością",
                "SP. Z O.O.",
            ],
            &["S.A.", "SA", "spółka akcyjna"],
            &["sp.k.", "Sp. k.", "spółka komandytowa"],
        ],
        _ => &[
            &["B.V.", "BV", "B.V", "Besloten Vennootschap"],
            &["N.V.", "NV", "Naamloze Vennootschap"],
            &["V.O.F.", "VOF"],
        ],
    }
}

/// Industry words in the country's language (and English, used everywhere).
pub fn industries(country: &str) -> &'static [&'static str] {
    match country {
        "DE" => &[
            "Maschinenbau",
            "Logistik",
            "Elektrotechnik",
            "Bau",
            "Metallbau",
            "Druckerei",
            "Handelsgesellschaft",
            "Verpackungen",
            "Kunststofftechnik",
            "Spedition",
            "Software",
            "Haustechnik",
            "Antriebstechnik",
            "Werkzeugbau",
            "Lebensmittel",
            "Automation",
        ],
        "FR" => &[
            "Transports",
            "Industrie",
            "Bâtiment",
            "Ingénierie",
            "Emballages",
            "Distribution",
            "Électricité",
            "Services",
            "Mécanique",
            "Plasturgie",
            "Négoce",
        ],
        "ES" => &[
            "Construcciones",
            "Transportes",
            "Distribuciones",
            "Ingeniería",
            "Industrias",
            "Suministros",
            "Servicios",
            "Metalúrgica",
            "Alimentación",
        ],
        "IT" => &[
            "Costruzioni",
            "Trasporti",
            "Meccanica",
            "Impianti",
            "Forniture",
            "Industria",
            "Servizi",
            "Plastica",
            "Alimentari",
            "Elettronica",
        ],
        "PL" => &[
            "Budownictwo",
            "Transport",
            "Logistyka",
            "Przemysł",
            "Usługi",
            "Handel",
            "Technika",
            "Metalurgia",
            "Opakowania",
        ],
        "NL" => &[
            "Bouw",
            "Transport",
            "Techniek",
            "Logistiek",
            "Installatie",
            "Handel",
            "Verpakkingen",
            "Machinebouw",
        ],
        _ => &[
            "Logistics",
            "Engineering",
            "Manufacturing",
            "Industries",
            "Solutions",
            "Systems",
            "Trading",
            "Supplies",
            "Technologies",
            "Consulting",
            "Construction",
            "Packaging",
            "Electronics",
            "Foods",
            "Plastics",
            "Holdings",
            "Services",
            "Components",
            "International",
        ],
    }
}

/// Invented brand-like words companies are named after.
pub static BRAND_STEMS: &[&str] = &[
    "Nord", "Süd", "Alpha", "Apex", "Blue", "Global", "Terra", "Nova", "Inter", "Euro", "Tec",
    "Prime", "Vita", "Astra", "Delta", "Omni", "Sigma", "Uni", "Multi", "Metro", "Pro", "Stahl",
    "Rhein", "Alpen", "Baltic", "Atlas", "Orion", "Helix", "Kron", "Lumen",
];
pub static BRAND_ENDS: &[&str] = &[
    "stern", "tec", "line", "wave", "tronic", "form", "plan", "mark", "point", "gate", "works",
    "flex", "nova", "tek", "lux", "max", "sys", "pack", "metall", "trans",
];

/// "& Sons" in the country's language.
pub fn and_sons(country: &str) -> &'static str {
    match country {
        "DE" => "& Söhne",
        "FR" => "et Fils",
        "ES" => "e Hijos",
        "IT" => "& Figli",
        "PL" => "i Synowie",
        "NL" => "& Zonen",
        _ => "& Sons",
    }
}

/// Abbreviations of company-name words, long form first.
pub static ORG_ABBREVIATIONS: &[(&str, &str)] = &[
    ("International", "Intl"),
    ("Manufacturing", "Mfg"),
    ("Engineering", "Eng."),
    ("Technologies", "Tech"),
    ("Industries", "Ind."),
    ("Services", "Svcs"),
    ("Systems", "Sys."),
    ("Components", "Comp."),
    ("Handelsgesellschaft", "Handelsges."),
    ("Maschinenbau", "Maschb."),
    ("Elektrotechnik", "Elektrotech."),
    ("Construcciones", "Const."),
    ("Distribuciones", "Dist."),
    ("Transportes", "Transp."),
    ("Costruzioni", "Costr."),
    ("Ingénierie", "Ing."),
    ("& ", "and "),
];
