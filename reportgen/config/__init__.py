"""The handout config: TOML in, a validated frozen ``Config`` out.

Every error names its field as a dotted path (``runs[1].batch_size``) and says what was
expected; the command line turns a ``ConfigError`` into one line and exit code 2.

One idea per module; this facade re-exports the public names:

- ``limits``: defaults and the bounds every field is checked against;
- ``errors``: ``ConfigError`` (what the user sees) and a validator's ``FieldError``;
- ``fields``, ``sections``, ``course_mode``, ``checks``, ``schema``: the pydantic models,
  ``Config`` at the top; the compute layer imports these and nothing else of ``config``,
  so the compute cache's key (the source it depends on) leaves the rest out;
- ``messages``, ``validation``: pydantic's errors as one line per field;
- ``shape``, ``reading``: a config file found, read and parsed, bounded;
- ``overrides``: ``--set KEY=VALUE``;
- ``loading``: all of the above, in order (``load``);
- ``writer``, ``schema_json``: the config as TOML and as a JSON Schema;
- ``spelling``: values and keys as TOML spells them, for messages and the writer.
"""

from reportgen.config.course_mode import EXERCISE_ID as EXERCISE_ID
from reportgen.config.course_mode import MATRIX_MODES as MATRIX_MODES
from reportgen.config.course_mode import RESULTS_PATH as RESULTS_PATH
from reportgen.config.course_mode import ConstraintsConfig as ConstraintsConfig
from reportgen.config.course_mode import ExerciseConfig as ExerciseConfig
from reportgen.config.course_mode import StudentConfig as StudentConfig
from reportgen.config.course_mode import StudentsConfig as StudentsConfig
from reportgen.config.errors import ConfigError as ConfigError
from reportgen.config.fields import BoundedPair as BoundedPair
from reportgen.config.fields import Finite as Finite
from reportgen.config.fields import Name as Name
from reportgen.config.fields import Pair as Pair
from reportgen.config.fields import Title as Title
from reportgen.config.limits import DEFAULT_DATE as DEFAULT_DATE
from reportgen.config.limits import DEFAULT_HANDOUT as DEFAULT_HANDOUT
from reportgen.config.limits import DEFAULT_NAME as DEFAULT_NAME
from reportgen.config.limits import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from reportgen.config.limits import MAX_KEY_CHARS as MAX_KEY_CHARS
from reportgen.config.limits import MAX_KEY_PARTS as MAX_KEY_PARTS
from reportgen.config.limits import MAX_MAGNITUDE as MAX_MAGNITUDE
from reportgen.config.limits import MAX_NAME_CHARS as MAX_NAME_CHARS
from reportgen.config.limits import MAX_RUNS as MAX_RUNS
from reportgen.config.limits import MAX_SAMPLE_STEPS as MAX_SAMPLE_STEPS
from reportgen.config.limits import MAX_SHUFFLED as MAX_SHUFFLED
from reportgen.config.limits import MAX_STEPS as MAX_STEPS
from reportgen.config.limits import MAX_SWEEP_STEPS as MAX_SWEEP_STEPS
from reportgen.config.limits import MAX_TITLE_CHARS as MAX_TITLE_CHARS
from reportgen.config.limits import MAX_TOML_NESTING as MAX_TOML_NESTING
from reportgen.config.limits import MIN_RELATIVE_WIDTH as MIN_RELATIVE_WIDTH
from reportgen.config.limits import SURFACE_MEMORY_SHARE as SURFACE_MEMORY_SHARE
from reportgen.config.limits import physical_memory_bytes as physical_memory_bytes
from reportgen.config.limits import surface_bytes as surface_bytes
from reportgen.config.loading import Source as Source
from reportgen.config.loading import load as load
from reportgen.config.loading import read_source as read_source
from reportgen.config.overrides import Override as Override
from reportgen.config.overrides import apply_override as apply_override
from reportgen.config.overrides import overrides_from as overrides_from
from reportgen.config.overrides import parse_key as parse_key
from reportgen.config.overrides import parse_override as parse_override
from reportgen.config.reading import config_name as config_name
from reportgen.config.reading import parse_toml as parse_toml
from reportgen.config.reading import read_text as read_text
from reportgen.config.reading import read_toml as read_toml
from reportgen.config.reading import resolve_path as resolve_path
from reportgen.config.schema import PRESENTATION_FIELDS as PRESENTATION_FIELDS
from reportgen.config.schema import Config as Config
from reportgen.config.schema_json import SCHEMA_ID as SCHEMA_ID
from reportgen.config.schema_json import json_schema as json_schema
from reportgen.config.schema_json import json_schema_text as json_schema_text
from reportgen.config.sections import PDF_STANDARDS as PDF_STANDARDS
from reportgen.config.sections import DataConfig as DataConfig
from reportgen.config.sections import PdfConfig as PdfConfig
from reportgen.config.sections import PdfStandard as PdfStandard
from reportgen.config.sections import RunConfig as RunConfig
from reportgen.config.sections import SurfaceConfig as SurfaceConfig
from reportgen.config.sections import SweepConfig as SweepConfig
from reportgen.config.shape import toml_shape_error as toml_shape_error
from reportgen.config.validation import validate as validate
from reportgen.config.writer import dump_toml as dump_toml
