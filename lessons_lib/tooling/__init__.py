"""Course tooling for instructors and maintainers (a learner never needs to open it).

* ``self_checks`` -- ``check(fn)`` and ``check_answer``: the instant feedback of the exercises;
* ``student_notebooks`` -- make the student notebooks from the instructor sources;
* ``grade`` -- grade a class: ``python -m lessons_lib.tooling.grade submissions/``;
* ``hidden_tests`` -- the graded tests, judged in the grader's process from the values students' functions return;
* ``sandbox`` -- run a notebook's code under bubblewrap (no network, read-only, no sources) and bring back data;
* ``grade_runner`` -- the process inside the sandbox: runs the cells, calls the functions on the hidden inputs;
* ``review`` -- the gradebook's review column: student code that may take its results from elsewhere;
* ``notebooks`` -- re-execute and check notebooks: ``python -m lessons_lib.tooling.notebooks run``;
* ``nbval_figures`` -- the pytest plugin that also compares stored figures;
* ``prose_numbers`` -- find numbers in a lesson's prose that none of its outputs prints;
* ``environment`` -- the setup check of lesson 00.

Importing this package keeps ``jsonschema`` (which nbformat, and so nbval, nbclient and the grader,
import) from importing ``rfc3987_syntax``: that package builds a parser for IRIs when it is imported,
1.3 s in every process, for the "iri" formats alone, which no schema of nbformat uses. Marked missing,
it is skipped by jsonschema, which then checks every other format as before.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)
