"""What define.xml links: documents inside its own folder only, of the kinds a submission carries.

`package_spec` completes a spec before its define.xml is written into `folder`:
- every Documents href must stay inside the folder (a relative name, no `..`, no scheme or
  absolute path: an eCTD reviewer opens the define from its folder) and name a PDF (or the .docx
  that stands in for a generated PDF without LibreOffice); anything else is refused;
- the generated documents found in the folder are linked: sdtm/acrf (the annotated CRF, as
  def:AnnotatedCRF) and sdtm/csdrg, adam/adrg (reviewer's guides, as def:SupplementalDoc);
- with the generated aCRF beside it, every Collected origin cites the aCRF page(s) of its
  annotation (pages a spec row gives itself are kept).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path, PurePosixPath

from ..errors import Problem, SubError
from ..spec import DocumentSpec, Spec

# (document ID, file stem, title) of the generated documents, per standard
GENERATED = {
    "SDTM": (("ACRF", "acrf", "Annotated Case Report Form"),
             ("CSDRG", "csdrg", "Clinical Study Data Reviewer's Guide")),
    "ADaM": (("ADRG", "adrg", "Analysis Data Reviewer's Guide"),),
}
DOCUMENT_KINDS = (".pdf", ".docx")


def generated_file(folder: Path, stem: str) -> Path | None:
    """FOLDER/stem.pdf, else FOLDER/stem.docx, else None."""
    for suffix in DOCUMENT_KINDS:
        path = Path(folder) / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def href_problem(href: str) -> str | None:
    """Why `href` cannot be a define.xml document link, or None."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", href) or href.startswith(("/", "\\")):
        return "links outside the define's folder (an address or an absolute path): ship the document beside define.xml"
    if ".." in PurePosixPath(href.replace("\\", "/")).parts:
        return "leaves the define's folder: ship the document beside define.xml and name it without '..'"
    if PurePosixPath(href).suffix.lower() not in DOCUMENT_KINDS:
        return "is not a submission document kind (PDF): study settings, CSV tables and the like belong " \
               "in the reviewer's guide in words"
    return None


def package_spec(spec: Spec, folder: Path, standard: str) -> Spec:
    """`spec` with the folder's generated documents and the aCRF pages of Collected origins (see the module)."""
    folder = Path(folder)
    problems = []
    for doc in spec.documents.values():
        why = href_problem(doc.href)
        if why:
            problems.append(Problem(str(spec.folder / "Documents.csv"), doc.line or None, "Href", doc.href, why))
    if problems:
        raise SubError(problems, f"define.xml ({standard}): documents must lie inside its folder")
    documents = dict(spec.documents)
    hrefs = {d.href for d in documents.values()}
    for ident, stem, title in GENERATED.get(standard, ()):
        path = generated_file(folder, stem)
        if path is not None and ident not in documents and path.name not in hrefs:
            documents[ident] = DocumentSpec(ID=ident, Title=title, Href=path.name)
    changes: dict = {"documents": documents}
    acrf = documents.get("ACRF")
    if standard == "SDTM" and acrf is not None and PurePosixPath(acrf.href).stem == "acrf":
        from .acrf import acrf_pages

        pages = acrf_pages(folder, spec.folder.parent)
        if pages:
            changes["variables"] = [v if v.pages or v.origin != "Collected" else
                                    v.model_copy(update={"pages": pages.get((v.dataset, v.variable, None))})
                                    for v in spec.variables]
            changes["value_level"] = [v if v.pages or v.origin != "Collected" else
                                      v.model_copy(update={"pages": pages.get((v.dataset, v.variable, v.where_clause))})
                                      for v in spec.value_level]
    return dataclasses.replace(spec, **changes, _by_dataset={})


def leaf_problems(folder: Path) -> list[Problem]:
    """Every def:leaf of FOLDER/define.xml (documents and dataset files) whose href does not resolve
    to a file inside FOLDER."""
    from ..safexml import parse

    folder = Path(folder)
    root = folder.resolve()
    problems = []
    for leaf in parse(folder / "define.xml").iter("{http://www.cdisc.org/ns/def/v2.1}leaf"):
        href = leaf.get("{http://www.w3.org/1999/xlink}href") or ""
        target = (folder / href).resolve()
        if not href or root not in target.parents or not target.is_file():
            problems.append(Problem(str(folder / "define.xml"), None, "leaf", f"{leaf.get('ID')} -> {href}",
                                    "document link does not resolve to a file inside the define's folder"))
    return problems
