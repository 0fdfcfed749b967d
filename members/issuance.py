"""Card-application files (发卡申请表): reading CSV/XLSX, checking each row, and writing the template,
the error report and the bank production file.

A CSV may be UTF-8 (with or without the byte-order mark Excel writes) or GBK/GB18030 (what Excel
saves on a Chinese Windows). Rows are streamed, never loaded whole, so a million-row file is read in
constant memory. Every cell written to a spreadsheet or CSV passes through ``portal.xlsx``, so a name
such as ``=HYPERLINK(...)`` is shown as text instead of being run as a formula.

Longer than most modules, and kept whole: it is the one definition of the file's format — its
columns, the limits its reader holds a file to, the row checks and the files written back — so a
change of the format is made in one place."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO

from defusedxml import DefusedXmlException
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from members import pii
from members.models import Card, IssuanceRow, MemberGroup, Union, mask_name, mask_phone
from members.scope import MEMBER_OUT_OF_REACH, member_in_scope_sql
from portal.db.arrays import text_array_literal
from portal.xlsx import safe_text, workbook_bytes

HEADER_NAME = "姓名"
HEADER_ID = "身份证号"
HEADER_PHONE = "手机号"
HEADER_UNION = "基层工会代码"
HEADER_GROUPS = "群体"
REQUIRED_HEADERS = (HEADER_NAME, HEADER_ID, HEADER_PHONE, HEADER_UNION)
HEADER_KEYS = {
    HEADER_NAME: "name",
    HEADER_ID: "id_number",
    HEADER_PHONE: "phone",
    HEADER_UNION: "union_code",
    HEADER_GROUPS: "groups",
}
ALLOWED_EXTENSIONS = (".csv", ".xlsx")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_GROUP_SPLIT = re.compile(r"[、,，;；/\s]+")
_SNIFF_BLOCK = 1024 * 1024

# --- Limits: what one application file may cost a worker ----------------------------------------------
# The upload size (settings.ISSUANCE_UPLOAD_MAX_BYTES) and the row limit (ISSUANCE_UPLOAD_MAX_ROWS) bound
# the work a well-formed file asks for. These bound what a malformed one can make the reader do, and
# they are checked before parsing (the archive) or while reading (rows and cells), never after.
# The template has five columns; a union's own file may carry a few more (notes), never thousands.
MAX_COLUMNS = 50
# The longest value kept is 64 characters (a union code); Excel itself allows 32,767 in a cell.
MAX_CELL_CHARS = 1000
# A CSV line is read whole before the csv module splits it: the widest line a valid file can have.
MAX_CSV_LINE_CHARS = MAX_COLUMNS * (MAX_CELL_CHARS + 3)
# An XLSX is a zip of XML parts that can unpack to far more than was uploaded. A million-row
# application written by Excel or WPS unpacks to about 300 MB (tests/hardening/test_bad_files.py
# measures it); the parts together, as declared and as actually unpacked, may not exceed this.
XLSX_MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
# Spreadsheet XML packs about 10:1 (measured 12:1 on a generated application); a part that unpacks
# to more than this many times its packed size is a zip bomb. Small parts are exempt: a few kB of
# repeated styles may pack better, and cost nothing.
XLSX_MAX_RATIO = 100
XLSX_RATIO_CHECKED_FROM_BYTES = 1024 * 1024
# Python's zipfile reads the whole central directory (one object per part) when it opens a file:
# a workbook has a few dozen parts, so a directory of this size is already generous.
XLSX_MAX_DIRECTORY_BYTES = 1024 * 1024
# The XML parser holds a text node (or a tag) whole in memory. No run of bytes without a "<" in a
# valid workbook is longer than the 32,767 characters Excel allows in a cell, escaped; anything
# longer is refused before the parser sees it.
XLSX_MAX_TEXT_RUN_BYTES = 256 * 1024
# Excel's last row. Rows are numbered by the file; a row numbered past this one would make the
# reader walk (and the empty rows between) far beyond any real sheet.
XLSX_MAX_ROW_NUMBER = 1_048_576


class FileProblem(Exception):
    """The file as a whole cannot be read; the message is shown to staff as it is."""


def normalize_phone(raw: str) -> str:
    value = _PHONE_SEPARATORS.sub("", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    return value


def phone_is_valid(value: str) -> bool:
    return bool(PHONE_RE.match(value))


def extension_of(filename: str) -> str:
    return PurePath(filename or "").suffix.lower()


# --- Reading ----------------------------------------------------------------------------------------


@dataclass
class ApplicationFile:
    """An opened application file: ``estimated_rows`` (for the progress bar) and ``rows()``."""

    estimated_rows: int
    _rows: Iterator[tuple[int, dict[str, str]]]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number as staff see it in the file, values by key); blank lines are skipped."""
        return self._rows


def open_application_file(
    fileobj: IO[bytes], filename: str, *, extra_headers: dict[str, str] | None = None
) -> ApplicationFile:
    """``extra_headers`` are optional columns a file of another kind (the roster's 会籍状态) may
    carry beside the application's, by header text → key of the row values."""
    keys = {**HEADER_KEYS, **(extra_headers or {})}
    extension = extension_of(filename)
    if extension == ".csv":
        return _open_csv(fileobj, keys)
    if extension == ".xlsx":
        return _open_xlsx(fileobj, keys)
    raise FileProblem(_("只支持 CSV 或 XLSX 文件。"))


def _detect_encoding(fileobj: IO[bytes]) -> tuple[str, int]:
    """The file's encoding and its number of lines, in one pass over the bytes."""
    fileobj.seek(0)
    head = fileobj.read(3)
    encoding = "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
    fileobj.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    lines = 0
    while True:
        block = fileobj.read(_SNIFF_BLOCK)
        if not block:
            break
        lines += block.count(b"\n")
        if encoding != "gb18030":
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                # Not UTF-8: Excel on a Chinese Windows saves GBK, of which GB18030 is a superset.
                encoding = "gb18030"
    if encoding == "utf-8":
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "gb18030"
    fileobj.seek(0)
    return encoding, lines


def _header_map(header: Iterable, keys: dict[str, str]) -> dict[str, int]:
    names = [str(cell).strip().lstrip("\ufeff") if cell is not None else "" for cell in header]
    missing = [name for name in REQUIRED_HEADERS if name not in names]
    if missing:
        raise FileProblem(
            _("表头缺少必填列：%(missing)s。请使用下载的模板，第一行应为：%(headers)s。")
            % {"missing": "、".join(missing), "headers": "、".join(REQUIRED_HEADERS)}
        )
    return {keys[name]: names.index(name) for name in keys if name in names}


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _values(mapping: dict[str, int], cells) -> dict[str, str]:
    return {key: _cell_text(cells[index]) if index < len(cells) else "" for key, index in mapping.items()}


def _too_many_columns(number: int, count: int) -> FileProblem:
    return FileProblem(
        _("第 %(row)s 行有 %(count)s 列，超过 %(limit)s 列的上限。请删除多余的列后重新上传。")
        % {"row": number, "count": count, "limit": MAX_COLUMNS}
    )


def _check_cells(number: int, cells) -> None:
    """The column and cell-length limits, on one row as it is read (trailing empty cells are no
    columns: a spreadsheet program may write them)."""
    width = len(cells)
    while width and (cells[width - 1] is None or cells[width - 1] == ""):
        width -= 1
    if width > MAX_COLUMNS:
        raise _too_many_columns(number, width)
    for value in cells:
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise FileProblem(
                _("第 %(row)s 行有一个单元格超过 %(limit)s 个字符的上限，请检查该行。")
                % {"row": number, "limit": MAX_CELL_CHARS}
            )


def _bounded_lines(text: IO[str]) -> Iterator[str]:
    """The file's lines for the csv module, each at most MAX_CSV_LINE_CHARS long and free of NUL
    (which PostgreSQL text cannot hold): a longer line is refused before it is split into cells."""
    number = 0
    while True:
        line = text.readline(MAX_CSV_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_CSV_LINE_CHARS:
            raise FileProblem(
                _("第 %(row)s 行超过 %(limit)s 个字符，不是有效的申请数据。")
                % {"row": number, "limit": MAX_CSV_LINE_CHARS}
            )
        if "\x00" in line:
            raise FileProblem(
                _("第 %(row)s 行含有空字符（NUL），文件可能已损坏。请用 Excel 或 WPS 另存为 CSV 后重新上传。")
                % {"row": number}
            )
        yield line


def _open_csv(fileobj: IO[bytes], keys: dict[str, str]) -> ApplicationFile:
    encoding, lines = _detect_encoding(fileobj)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        text = io.TextIOWrapper(fileobj, encoding=encoding, newline="", errors="replace")
        try:
            reader = csv.reader(_bounded_lines(text))
            header = next(reader, None)
            if header is None:
                raise FileProblem(_("文件是空的。"))
            _check_cells(reader.line_num, header)
            columns = tuple(_header_map(header, keys).items())
            for cells in reader:
                # Every cell of a CSV is text: the limits hold unless a row is too wide or a cell too
                # long, and only then is the row looked at cell by cell (which raises the error).
                if len(cells) > MAX_COLUMNS or (cells and max(map(len, cells)) > MAX_CELL_CHARS):
                    _check_cells(reader.line_num, cells)
                if not "".join(cells).strip():
                    continue
                width = len(cells)
                yield (
                    reader.line_num,
                    {key: cells[index].strip() if index < width else "" for key, index in columns},
                )
        except csv.Error as exc:
            raise FileProblem(_("CSV 文件格式有误：%(error)s") % {"error": exc}) from None
        finally:
            with contextlib.suppress(ValueError):  # already closed by the caller
                text.detach()  # leave the underlying file to the caller

    return ApplicationFile(estimated_rows=max(lines - 1, 0), _rows=rows())


# What the zip and XML readers raise on a malformed file. The XML parsers raise SyntaxError
# subclasses (xml.etree.ElementTree.ParseError); defusedxml's refusals are ValueErrors.
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    InvalidFileException,
    SyntaxError,
    KeyError,
    IndexError,
    OSError,
    ValueError,
    TypeError,
    EOFError,
    NotImplementedError,
)
NOT_AN_XLSX = gettext_lazy("文件不是有效的 XLSX 表格，无法读取。请用 Excel 或 WPS 另存为 .xlsx 后重新上传。")
UNSAFE_XLSX = gettext_lazy(
    "文件中含有不允许的 XML 内容（实体声明），已拒绝读取。请用 Excel 或 WPS 另存为 .xlsx 后重新上传。"
)


def _xlsx_problem(exc: BaseException, fallback: str) -> FileProblem:
    """The plain message for a reader's error: defusedxml's refusal (which openpyxl may wrap in an
    error of its own) says what was refused; anything else gets ``fallback``."""
    seen = exc
    while seen is not None:
        if isinstance(seen, DefusedXmlException):
            return FileProblem(str(UNSAFE_XLSX))
        seen = seen.__cause__ or seen.__context__
    return FileProblem(str(fallback))


def _zip_directory_size(fileobj: IO[bytes]) -> int:
    """The size of the zip's central directory, from its end record, read before zipfile reads the
    directory itself. A ZIP64 archive (more than 65,535 parts or 4 GB) is no application file."""
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    tail_length = min(size, 22 + 0xFFFF)  # the end record and the longest comment
    fileobj.seek(size - tail_length)
    tail = fileobj.read(tail_length)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise FileProblem(str(NOT_AN_XLSX))
    entries, directory_size, directory_offset = struct.unpack_from("<HII", tail, at + 10)
    zip64_locator = at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07"
    if zip64_locator or entries == 0xFFFF or 0xFFFFFFFF in (directory_size, directory_offset):
        raise FileProblem(str(NOT_AN_XLSX))
    return directory_size


def _longest_run_check(chunk: bytes, run: int) -> int:
    """Refuse a run of bytes without "<" longer than XLSX_MAX_TEXT_RUN_BYTES; ``run`` is the length
    of the run the previous chunk ended with, and the length of the run this one ends with is returned."""
    first = chunk.find(b"<")
    if first < 0:
        run += len(chunk)
        longest = run
    else:
        pieces = chunk[first + 1 :].split(b"<")
        longest = max(run + first, max(map(len, pieces)))
        run = len(pieces[-1])
    if longest > XLSX_MAX_TEXT_RUN_BYTES:
        raise FileProblem(
            _("文件中有一个单元格或标记长达 %(size)s KB，不是有效的申请数据，已拒绝读取。")
            % {"size": longest // 1024}
        )
    return run


def _check_xlsx_archive(fileobj: IO[bytes]) -> None:
    """Before any XML is parsed: the directory is small, the parts unpack — as declared and as
    actually unpacked — to at most XLSX_MAX_UNZIPPED_BYTES in all, none is a zip bomb, and no XML
    part holds a run of text longer than a cell can be. The actual pass costs one decompression of
    the file (about two seconds for a million rows) and keeps one block in memory at a time."""
    if _zip_directory_size(fileobj) > XLSX_MAX_DIRECTORY_BYTES:
        raise FileProblem(
            _("文件中的部件过多，不是有效的申请表。请用 Excel 或 WPS 另存为 .xlsx 后重新上传。")
        )
    fileobj.seek(0)
    too_big = _("文件解压后超过 %(limit)s MB 的上限，请拆分后分批上传。") % {
        "limit": XLSX_MAX_UNZIPPED_BYTES // (1024 * 1024)
    }
    try:
        with zipfile.ZipFile(fileobj) as archive:
            parts = archive.infolist()
            if sum(part.file_size for part in parts) > XLSX_MAX_UNZIPPED_BYTES:
                raise FileProblem(too_big)
            for part in parts:
                ratio = part.file_size / max(part.compress_size, 1)
                if part.file_size > XLSX_RATIO_CHECKED_FROM_BYTES and ratio > XLSX_MAX_RATIO:
                    raise FileProblem(
                        _(
                            "文件的压缩比异常（解压后超过压缩时的 %(ratio)s 倍），"
                            "可能是恶意构造的文件，已拒绝读取。"
                        )
                        % {"ratio": XLSX_MAX_RATIO}
                    )
            unpacked = 0
            for part in parts:
                scan = part.filename.lower().endswith((".xml", ".rels"))
                run = 0
                with archive.open(part) as stream:
                    while chunk := stream.read(_SNIFF_BLOCK):
                        unpacked += len(chunk)
                        if unpacked > XLSX_MAX_UNZIPPED_BYTES:
                            raise FileProblem(too_big)
                        if scan:
                            run = _longest_run_check(chunk, run)
    except (
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
    ):
        # RuntimeError: an encrypted part; NotImplementedError: a compression zipfile does not know.
        raise FileProblem(str(NOT_AN_XLSX)) from None


def _open_xlsx(fileobj: IO[bytes], keys: dict[str, str]) -> ApplicationFile:
    _check_xlsx_archive(fileobj)
    fileobj.seek(0)
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        declared_rows, declared_columns = sheet.max_row, sheet.max_column
    except _XLSX_ERRORS as exc:
        raise _xlsx_problem(exc, NOT_AN_XLSX) from None
    if declared_columns and declared_columns > MAX_COLUMNS:
        workbook.close()
        raise _too_many_columns(1, declared_columns)
    # The declared size is only an estimate for the progress bar: read as declared, openpyxl would
    # pad every row to the declared width and add empty rows up to the declared height.
    sheet.reset_dimensions()

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            cells_iter = sheet.iter_rows(values_only=True)
            header = next(cells_iter, None)
            if header is None:
                raise FileProblem(_("文件是空的。"))
            _check_cells(1, header)
            mapping = _header_map(header, keys)
            for number, cells in enumerate(cells_iter, start=2):
                if number > XLSX_MAX_ROW_NUMBER:
                    raise FileProblem(
                        _("表格的行号超过了 %(limit)s（Excel 的最后一行），不是有效的申请表。")
                        % {"limit": f"{XLSX_MAX_ROW_NUMBER:,}"}
                    )
                _check_cells(number, cells)
                if not any(_cell_text(cell) for cell in cells):
                    continue
                yield number, _values(mapping, cells)
        except _XLSX_ERRORS as exc:
            raise _xlsx_problem(exc, _("XLSX 表格内容损坏，无法继续读取。")) from None
        finally:
            workbook.close()

    return ApplicationFile(estimated_rows=max((declared_rows or 1) - 1, 0), _rows=rows())


# --- Checking rows ------------------------------------------------------------------------------------

GROUP_BY_TEXT = {
    **{str(label): value for value, label in MemberGroup.choices},
    **{value: value for value in MemberGroup.values},
}


@dataclass(slots=True)
class CheckedRow:
    """An application row after checking, on its way into ``IssuanceRow`` by COPY."""

    batch_id: int
    row_number: int
    name: str
    union_code: str
    id_number_encrypted: str = ""
    id_number_hash: str = ""
    id_number_masked: str = ""
    phone: str = ""
    union_id: int | None = None
    groups: list[str] = field(default_factory=list)
    status: str = ""
    errors: list[str] = field(default_factory=list)
    member_changes: dict[str, str] = field(default_factory=dict)
    member_status: str = "active"  # a roster row's 会籍状态; an application is always for an active member
    # The valid ID number as normalized, kept only while the chunk is checked: encrypted and hashed
    # in one pass over the chunk (see RowChecker._protect_id_numbers), then emptied.
    id_number: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class KnownMember:
    """A member who already holds a row's ID number, as validation may see them."""

    in_reach: bool  # members.scope: in the batch union's subtree, and active
    name: str
    phone: str
    live_card: str | None


@dataclass
class RowChecker:
    """Checks the rows of one batch, a chunk at a time (one query for unions, one for the members
    who already hold the chunk's ID numbers).

    A row naming an existing member is valid only if that member is in the batch's reach
    (``members.scope``); the row error for one out of reach is the same whatever the reason, and
    nothing of that member (card, union, status) is read into it. For a member in reach, a new name
    or phone is recorded on the row (old values masked), to be shown to the approver.

    Duplicates inside the file are found afterwards in one SQL statement over the stored rows."""

    batch_id: int
    batch_union: Union
    # Per union code named by the file: the union's id for a row, or the error of every row naming it.
    _unions: dict[str, tuple[int | None, str | None]] = field(default_factory=dict)

    def check(self, chunk: list[tuple[int, dict[str, str]]]) -> list[CheckedRow]:
        """The checks each row makes of itself, its ID number encrypted and hashed, then those against
        the database: the rows' unions and the members who hold their ID numbers."""
        prepared = [self._prepare(number, values) for number, values in chunk]
        self._protect_id_numbers([row for row, _ in prepared if row.id_number])
        self._load_unions({row.union_code for row, _ in prepared if row.union_code})
        known = self._known_members([row.id_number_hash for row, _ in prepared if row.id_number_hash])
        rows = []
        for row, errors in prepared:
            self._check_union(row, errors)
            member = known.get(row.id_number_hash)
            if member is not None:
                self._check_known_member(row, errors, member)
            row.errors = errors
            row.status = IssuanceRow.Status.INVALID if errors else IssuanceRow.Status.VALID
            rows.append(row)
        return rows

    def _known_members(self, hashes: list[str]) -> dict[str, KnownMember]:
        """The members holding these ID numbers. Of one out of reach only that fact leaves the
        database: not its name, phone or card."""
        in_reach = member_in_scope_sql("m", active_only=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT k.id_number_hash, k.in_reach, "  # noqa: S608 - the scope rule's SQL, no input
                "       CASE WHEN k.in_reach THEN k.name END, CASE WHEN k.in_reach THEN k.phone END, "
                "       CASE WHEN k.in_reach THEN (SELECT c.number FROM members_card c "
                "            WHERE c.member_id = k.id AND c.status = ANY(%s) LIMIT 1) END "
                f"FROM (SELECT m.id, m.id_number_hash, m.name, m.phone, {in_reach} AS in_reach "
                "      FROM members_member m WHERE m.id_number_hash = ANY(%s::text[])) k",
                [list(Card.LIVE_STATUSES), self.batch_union.path, text_array_literal(hashes)],
            )
            return {
                hash_: KnownMember(in_reach=reach, name=name or "", phone=phone or "", live_card=card)
                for hash_, reach, name, phone, card in cursor.fetchall()
            }

    def _check_known_member(self, row: CheckedRow, errors: list[str], member: KnownMember) -> None:
        if not member.in_reach:
            errors.append(str(MEMBER_OUT_OF_REACH))
            return
        if member.live_card:
            errors.append(
                _("该身份证号已持有有效会员卡（尾号%(tail)s），不能重复制卡。")
                % {"tail": member.live_card[-4:]}
            )
        changes = {}
        if row.name and row.name != member.name:
            changes["name"] = mask_name(member.name)
        if row.phone and row.phone != member.phone:
            changes["phone"] = mask_phone(member.phone)
        row.member_changes = changes

    def _prepare(self, number: int, values: dict[str, str]) -> tuple[CheckedRow, list[str]]:
        """The row's own checks, in the order their messages are listed. Run for every row of a
        file of up to a million, so the row is built once, from what was found."""
        errors: list[str] = []
        name = values.get("name", "")
        if not name:
            errors.append(_("姓名为空。"))
        elif len(name) > 60:
            errors.append(_("姓名过长（最多60个字）。"))
        raw_id = values.get("id_number", "")
        try:
            id_number = pii.validate_id_number(raw_id)
        except ValidationError as exc:
            errors.append(exc.messages[0])
            id_number = ""
            masked = pii.mask_id_number(pii.normalize_id_number(raw_id))[:32]
        else:
            masked = pii.mask_id_number(id_number)
        raw_phone = values.get("phone", "")
        phone = normalize_phone(raw_phone)
        if not phone:
            errors.append(_("手机号为空。"))
        elif not phone_is_valid(phone):
            errors.append(_("手机号“%(phone)s”无效，应为11位大陆手机号码。") % {"phone": raw_phone[:20]})
        groups = []
        groups_text = values.get("groups", "")
        if groups_text:
            for text in _GROUP_SPLIT.split(groups_text):
                if not text:
                    continue
                if text in GROUP_BY_TEXT:
                    groups.append(GROUP_BY_TEXT[text])
                else:
                    errors.append(
                        _("群体“%(group)s”无法识别，可填：%(choices)s。")
                        % {
                            "group": text[:20],
                            "choices": "、".join(str(label) for label in MemberGroup.labels),
                        }
                    )
            groups = sorted(set(groups))
        row = CheckedRow(
            batch_id=self.batch_id,
            row_number=number,
            name=name[:60],
            union_code=values.get("union_code", "")[:64],
            id_number_masked=masked,
            phone=phone[:32],
            groups=groups,
            id_number=id_number,
        )
        return row, errors

    @staticmethod
    def _protect_id_numbers(rows: list[CheckedRow]) -> None:
        """Encrypt, then hash, the chunk's valid ID numbers, each in a pass of its own: run row by
        row between the other checks, the two ciphers cost nearly twice as much (their libraries'
        state is no longer in the processor's caches)."""
        numbers = [row.id_number for row in rows]
        for row, token in zip(rows, pii.encrypt_id_numbers(numbers), strict=True):
            row.id_number_encrypted = token
        for row, hashed in zip(rows, pii.hash_id_numbers(numbers), strict=True):
            row.id_number_hash = hashed
            row.id_number = ""

    def _load_unions(self, codes: set[str]) -> None:
        unknown = codes - self._unions.keys()
        if not unknown:
            return
        found = {
            union.code: union
            for union in Union.objects.filter(code__in=unknown).only("id", "code", "path", "level", "name")
        }
        for code in unknown:
            self._unions[code] = self._union_verdict(code, found.get(code))

    def _union_verdict(self, code: str, union: Union | None) -> tuple[int | None, str | None]:
        """The union a row naming ``code`` belongs to, or the error it gets: decided once per code."""
        if union is None or not self.batch_union.contains(union):
            # One text for a code that does not exist and one of another subtree: the answer does
            # not confirm which codes exist elsewhere, nor name their unions.
            return None, _("基层工会代码“%(code)s”不存在或不在%(owner)s的管辖范围内。") % {
                "code": code[:20],
                "owner": self.batch_union.name,
            }
        if union.level != Union.Level.WORKPLACE:
            return None, _("“%(name)s”不是基层工会，请填写会员所在基层工会的代码。") % {"name": union.name}
        return union.pk, None

    def _check_union(self, row: CheckedRow, errors: list[str]) -> None:
        if not row.union_code:
            errors.append(_("基层工会代码为空。"))
            return
        union_id, error = self._unions[row.union_code]
        if error is None:
            row.union_id = union_id
        else:
            errors.append(error)


# --- Writing ------------------------------------------------------------------------------------------


def template_workbook() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "申请表"
    sheet.append([*REQUIRED_HEADERS, HEADER_GROUPS])
    for column, width in zip("ABCDE", (12, 22, 14, 16, 16), strict=True):
        sheet.column_dimensions[column].width = width
    # The ID number and phone columns are text, so Excel keeps all 18 digits and leading characters.
    for column in "BCD":
        for row in range(2, 1002):
            sheet[f"{column}{row}"].number_format = "@"
    notes = workbook.create_sheet("填写说明")
    notes.append(["列", "说明", "示例"])
    notes.append([HEADER_NAME, "必填，会员姓名", "张三"])
    notes.append([HEADER_ID, "必填，18位居民身份证号（设为文本格式）", "11010519491231002X"])
    notes.append([HEADER_PHONE, "必填，11位手机号", "13800138000"])
    notes.append([HEADER_UNION, "必填，会员所在基层工会的代码", "130102001"])
    notes.append(
        [
            HEADER_GROUPS,
            "选填，多个用顿号分隔：" + "、".join(str(label) for label in MemberGroup.labels),
            "困难职工",
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def error_report_workbook(rows: Iterable[IssuanceRow]) -> bytes:
    header = ["行号", HEADER_NAME, "身份证号（已脱敏）", HEADER_PHONE, HEADER_UNION, "错误说明"]
    lines = (
        [row.row_number, row.name, row.id_number_masked, row.phone, row.union_code, "；".join(row.errors)]
        for row in rows
    )
    return workbook_bytes([("错误明细", header, lines)])


def member_changes_workbook(rows: Iterable[IssuanceRow]) -> bytes:
    """What a batch changes of members who already exist: the old values masked, the new as filed."""
    header = ["行号", "身份证号（已脱敏）", "原姓名（已脱敏）", "新姓名", "原手机号（已脱敏）", "新手机号"]
    lines = (
        [
            row.row_number,
            row.id_number_masked,
            row.member_changes.get("name", ""),
            row.name if "name" in row.member_changes else "",
            row.member_changes.get("phone", ""),
            row.phone if "phone" in row.member_changes else "",
        ]
        for row in rows
    )
    return workbook_bytes([("对已有会员的修改", header, lines)])


PRODUCTION_HEADERS = ["卡号", "姓名", "身份证号", "手机号", "基层工会代码", "基层工会名称", "银行", "批次"]


def write_production_csv(cards: Iterable[tuple], out: IO[str], *, batch_id: int) -> int:
    """The bank production file: full ID numbers (decrypted here and nowhere else). ``cards`` yields
    (number, name, encrypted ID number, phone, union code, union name, bank name)."""
    writer = csv.writer(out)
    writer.writerow(PRODUCTION_HEADERS)
    count = 0
    for number, name, encrypted, phone, union_code, union_name, bank_name in cards:
        writer.writerow(
            [
                number,
                safe_text(name),
                pii.decrypt_id_number(encrypted),
                phone,
                union_code,
                safe_text(union_name),
                bank_name,
                batch_id,
            ]
        )
        count += 1
    return count
