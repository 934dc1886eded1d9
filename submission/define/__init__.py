"""define.xml (Define-XML 2.1) from the spec and the data, and the spec's P21 workbook.

    write.py        build_define, to_bytes, write_define_folder (define.xml + define.html + stylesheet)
    validate.py     schema (defineutils' XSDs) and OID-reference checks; HTML rendering
    read.py         read_define: a Define-XML 2.0/2.1 file as plain data (for `sub diff`)
    consistency.py  check_consistency: define.xml against the XPT files beside it
    _values.py      data values as define-level text: a column converted once per distinct value
                    (FrameTexts, shared by the writer and the consistency check), where clauses
    workbook.py     export_workbook / import_workbook: the spec as a Pinnacle 21 .xlsx and back

Nothing is imported here, so that `import submission.define` stays cheap.
"""
