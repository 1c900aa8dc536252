"""The FastAPI original that pixelpress replaces, kept as the benchmark baseline: POST / blurs the upload with
Pillow's ImageFilter.BLUR and answers a JPEG saved with Pillow's defaults (quality 75, 4:2:0 subsampling)."""
from io import BytesIO

from fastapi import FastAPI, UploadFile
from fastapi.responses import StreamingResponse
from PIL import Image, ImageFilter

app = FastAPI()


@app.post("/")
async def blur(img: UploadFile):
    image = Image.open(img.file).filter(ImageFilter.BLUR)
    buffer = BytesIO()
    image.save(buffer, format="JPEG")
    buffer.seek(0)
    return StreamingResponse(buffer, media_type="image/jpeg")
