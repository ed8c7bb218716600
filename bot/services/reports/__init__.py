"""The district's view: the student's file, the watch list, the weekly reports, feedback.

What the console calls (each checks the viewer's scope and writes the audit event itself):

- ``StudentFiles(sessions, cipher, settings).by_id(student_id, actor=, now=, export=None)``
  (or ``.by_number(school=, number=, ...)``) -> ``StudentFile``; render with
  ``file_html.render_file_html(file, lang)`` (or ``file_html.trends`` for the charts alone).
- ``WatchList(sessions, settings).build(school=None, actor=, now=, export=False)``
  -> ``list[WatchEntry]``.
- ``WeeklyReports(sessions, settings).build(school=CODE or None, week="2026-W49", actor=,
  now=)`` -> ``WeeklyReport``; render with ``report_html.render_html``,
  ``report_csv.render_csv`` or ``pdf.print_pdf``.
- ``Feedback(sessions, cipher).mark(case_id, "confirmed" | "false_alarm", actor, now)`` and
  ``.export(actor=, now=, with_text=False)``.
- ``delivery.notices(sessions)``: Monday's deliveries, newest first.

Pure cores: ``suppression`` (small cells), ``weekly`` (the report's figures), ``watch``
(the watch list's rules), ``weeks`` (ISO weeks in local time), ``charts`` (inline SVG).
"""
