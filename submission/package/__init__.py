"""The reviewer's documents of the submission package, generated from what the build knows.

    annotations.py  specs/acrf.csv: every raw CRF field with its SDTM target(s), checked against
                    the raw layout and the SDTM spec; the aCRF pages define.xml cites
    acrf.py         the annotated CRF (sdtm/acrf.pdf, or acrf.docx without LibreOffice)
    pdf.py          LibreOffice conversion with bookmarks; a bookmark tree by form and by domain;
                    the PDF made reproducible (creation date and file ID from the build)
    documents.py    what define.xml links: only documents inside its own folder, the generated
                    ones found there, the aCRF pages of every Collected origin
    guides.py       the reviewer's guides: sdtm/csdrg and adam/adrg (PHUSE section order)
    conformance.py  `sub validate` findings with the sponsor's explanations (specs/conformance.csv)
"""
