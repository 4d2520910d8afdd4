"""The declarative base of the plugin's tables, on SQLAlchemy 1.4 and 2.0.

Debian 12 and Ubuntu 24.04 ship Mailman 3.3.8 on SQLAlchemy 1.4; newer
channels ship 2.0.  The tables are written once, in 2.0's annotated style
(`name: Mapped[str] = mapped_column(...)`): on 1.4, whose declarative
mapping reads only the columns and ignores the annotations,
`mapped_column` is `Column`, which takes the same arguments.  The type
checker reads the 2.0 branch.
"""

from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy
from public import public
from sqlalchemy import MetaData

SQLALCHEMY_2 = int(sqlalchemy.__version__.split('.')[0]) >= 2

if TYPE_CHECKING or SQLALCHEMY_2:
    from sqlalchemy.orm import DeclarativeBase, mapped_column

    class Base(DeclarativeBase):
        """Not Mailman's `Model`: Mailman's test resets and migrations
        must not own these tables."""
        metadata = MetaData()
else:                                   # SQLAlchemy 1.4
    from sqlalchemy import Column as mapped_column
    from sqlalchemy.orm import declarative_base

    Base = declarative_base(metadata=MetaData())



def stored(vocabulary: type[StrEnum]) -> sqlalchemy.Enum:
    """A column of `vocabulary`, stored as its values in VARCHAR(10) (as
    the columns were before they were typed: no migration, no database
    enum type), read back as its members."""
    return sqlalchemy.Enum(vocabulary, native_enum=False, length=10,
                           create_constraint=False, validate_strings=True,
                           values_callable=lambda enum: [
                               member.value for member in enum])


public(Base=Base, mapped_column=mapped_column, stored=stored)
