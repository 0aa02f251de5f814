"""DICOM files, series and zips -> model images, as Google prepares them for MedGemma."""
