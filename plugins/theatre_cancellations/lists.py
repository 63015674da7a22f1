"""The trust's elective theatre lists the synthetic extract schedules: specialty, owning CSU, sites, volume,
list days and how often each kind of cancellation happens there (shares of the scheduled list)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Specialty:
    """One specialty's elective lists; `avoidable` is overridden by a project's story where one exists."""

    name: str
    csu: str
    sites: tuple[str, ...]
    per_list: float  # mean procedures per list day at scale 1
    list_days: tuple[int, ...]  # weekdays with a list (0 = Monday)
    admit_day_before: float  # share of patients due to arrive the day before surgery
    procedures: tuple[str, ...]
    avoidable: float
    non_clinical: float = 0.03
    clinical: float = 0.02
    patient: float = 0.03
    bed_reasons: tuple[str, ...] = ("NC06",)


WEEK = (0, 1, 2, 3, 4)
SPECIALTIES = (
    Specialty("Bronchoscopy", "CAR", ("SJUH",), 4.0, (0, 2, 3), 0.0,
              ("Diagnostic bronchoscopy", "Bronchoscopy with biopsy", "Endobronchial ultrasound (EBUS)"), 0.19,
              non_clinical=0.015, clinical=0.02, patient=0.03),
    Specialty("Cardiac Surgery", "CAR", ("LGI",), 3.0, WEEK, 0.8,
              ("Coronary artery bypass graft", "Aortic valve replacement", "Mitral valve repair"), 0.04,
              non_clinical=0.06, bed_reasons=("NC07", "NC06")),
    Specialty("Thoracic Surgery", "CAR", ("SJUH",), 2.0, WEEK, 0.5,
              ("VATS lobectomy", "Wedge resection of lung", "Pleurodesis"), 0.04),
    Specialty("Paediatric Cardiac Surgery", "CHI", ("LGI",), 2.0, WEEK, 0.9,
              ("Ventricular septal defect repair", "Tetralogy of Fallot repair", "Cardiac catheter intervention"),
              0.15, non_clinical=0.05, bed_reasons=("NC07",)),
    Specialty("Paediatric Surgery", "CHI", ("LGI",), 3.0, WEEK, 0.1,
              ("Inguinal hernia repair", "Orchidopexy", "Circumcision"), 0.04),
    Specialty("General Surgery", "ABD", ("SJUH", "SJUH", "WH"), 5.0, WEEK, 0.2,
              ("Laparoscopic cholecystectomy", "Inguinal hernia repair", "Anterior resection"), 0.03),
    Specialty("Urology", "ABD", ("SJUH",), 4.0, WEEK, 0.1,
              ("Transurethral resection of bladder tumour", "Ureteroscopy", "Flexible cystoscopy"), 0.03),
    Specialty("Trauma and Orthopaedics", "TRS", ("CAH", "CAH", "LGI"), 5.0, WEEK, 0.3,
              ("Total hip replacement", "Total knee replacement", "Knee arthroscopy"), 0.04),
    Specialty("Ear, Nose and Throat", "HNK", ("SJUH",), 3.0, WEEK, 0.1,
              ("Tonsillectomy", "Septoplasty", "Functional endoscopic sinus surgery"), 0.03),
    Specialty("Ophthalmology", "HNK", ("SJUH", "SH"), 5.0, WEEK, 0.0,
              ("Cataract extraction and lens implant", "Vitrectomy", "Trabeculectomy"), 0.02),
    Specialty("Neurosurgery", "NEU", ("LGI",), 2.0, WEEK, 0.6,
              ("Lumbar microdiscectomy", "Craniotomy", "Anterior cervical discectomy"), 0.03,
              non_clinical=0.05, bed_reasons=("NC07", "NC06")),
    Specialty("Gynaecology", "WOM", ("SJUH",), 3.0, WEEK, 0.1,
              ("Operative hysteroscopy", "Laparoscopic hysterectomy", "Laparoscopy and dye"), 0.03),
    Specialty("Oral Surgery", "DEN", ("LDI",), 2.5, (0, 1, 3, 4), 0.0,
              ("Dental extraction under general anaesthetic", "Removal of third molars"), 0.03),
)
